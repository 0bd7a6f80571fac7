"""The course-version cache (autograder/cache.py): a changed input is another version, an entry
is used only when it verifies, one writer builds it, and nothing of it is students' to see."""

import multiprocessing
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder import cache, config
from autograder.__main__ import main
from autograder.cache import Cache, CacheError, course_version
from autograder.course.paths import COURSE_ROOT

VERSION = "ab" * 32


@pytest.fixture
def course(tmp_path) -> Path:
    """A small course tree with every kind of source the version covers."""
    root = tmp_path / "course"
    for relative, text in {"solutions/dual_encoder/01_encoder.ipynb": "{}",
                           "dpr_course/models.py": "x = 1\n", "autograder/judge/memo.py": "y = 2\n",
                           "data/synthetic/nq-train.json": "[]", "nbgrader_config.py": "c = 0\n",
                           "course.toml": "[course]\n"}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def version(course: Path, settings=None, environ=None) -> str:
    return course_version(settings or config.defaults("tiny"), root=course,
                          environ={} if environ is None else environ)


def test_the_version_changes_with_every_input_it_covers(course, tmp_path, monkeypatch):
    tiny = config.defaults("tiny")
    first = version(course)
    assert first == version(course), "the same inputs are the same version"
    seen = {first}

    def changed(new: str) -> None:
        assert new not in seen, "an input changed but the version did not"
        seen.add(new)

    notebook = course / "solutions/dual_encoder/01_encoder.ipynb"
    notebook.write_bytes(b"{ }")  # one byte more
    changed(version(course))
    for relative in ("dpr_course/models.py", "autograder/judge/memo.py",
                     "data/synthetic/nq-train.json", "nbgrader_config.py"):
        (course / relative).write_text((course / relative).read_text() + " ")
        changed(version(course))
    (course / "autograder/judge/memo.py").rename(course / "autograder/judge/memo2.py")
    changed(version(course))  # a file's name is part of it
    changed(version(course, config.defaults("full")))
    changed(version(course, tiny.but(cell_seconds=tiny.cell_seconds + 1)))
    changed(version(course, tiny.but(device="cpu")))
    changed(version(course, tiny.but(threads=tiny.threads + 1)))
    changed(version(course, environ={"DPR_DEVICE": "cuda"}))  # a student's setting
    nq = tmp_path / "nq"
    nq.mkdir()
    (nq / "nq-train.json").write_text("[1]")
    changed(version(course, environ={"DPR_NQ_DIR": str(nq)}))
    (nq / "nq-train.json").write_text("[2]")
    changed(version(course, environ={"DPR_NQ_DIR": str(nq)}))  # the real data's content
    real = cache.package_version
    for package in ("torch", "transformers", "nbgrader"):
        monkeypatch.setattr(cache, "package_version",
                            lambda name, p=package: "0.0.1" if name == p else real(name))
        changed(version(course))
    monkeypatch.setattr(cache, "package_version", real)
    installed = cache.installed_distributions()
    monkeypatch.setattr(cache, "installed_distributions", lambda: installed + ["rank-bm25==9.9"])
    changed(version(course))
    gpu = tiny.wants_gpu()
    monkeypatch.setattr(config.RunConfig, "wants_gpu", lambda self: not gpu)
    changed(version(course))
    monkeypatch.setattr(cache, "cpu_model", lambda: "another processor")
    changed(version(course))


def test_the_runs_own_fields_and_caches_of_compiled_code_and_tests_are_not_part_of_it(course):
    tiny = config.defaults("tiny")
    first = version(course, tiny)
    assert version(course, tiny.but(server="/tmp/x.sock", memo="/tmp/memo", grader_pid=7,
                                    trace="/tmp/trace", jobs=4)) == first
    for relative in ("autograder/__pycache__/memo.cpython-312.pyc", "autograder/tests/test_x.py",
                     "dpr_course/models.pyc"):
        (course / relative).parent.mkdir(parents=True, exist_ok=True)
        (course / relative).write_text("ignored")
    assert version(course, tiny) == first
    fields = set(config.RunConfig.__dataclass_fields__)
    assert cache.RUN_ONLY_FIELDS <= fields, "RUN_ONLY_FIELDS names a field RunConfig lacks"
    assert set(cache.result_settings(tiny)) == fields - cache.RUN_ONLY_FIELDS


def test_the_real_course_has_a_version_and_its_root_is_the_course_root():
    assert cache.COURSE_ROOT == COURSE_ROOT
    files = {path.as_posix() for path in cache.source_files(COURSE_ROOT)}
    assert "autograder/cache.py" in files and "dpr_course/settings.py" in files
    assert not any("/tests/" in name or "__pycache__" in name for name in files)
    assert any(name.startswith("solutions/") for name in files)
    digest = course_version(config.defaults("tiny"), environ={})
    assert len(digest) == 64 and int(digest, 16) >= 0


def writer(calls: list):
    def build(folder: Path) -> None:
        calls.append(folder)
        (folder / "sub").mkdir()
        (folder / "sub" / "state.bin").write_bytes(b"\x00" * 100)
        (folder / "template.txt").write_text("template")
    return build


def test_a_hit_is_the_same_folder_and_does_not_build_again(tmp_path):
    store, calls = Cache(VERSION, tmp_path / "cache"), []
    entry = store.get_or_build("template", writer(calls))
    assert entry == tmp_path / "cache" / VERSION / "template"
    assert (entry / "template.txt").read_text() == "template"
    assert store.get_or_build("template", writer(calls)) == entry
    assert len(calls) == 1
    assert Cache("cd" * 32, tmp_path / "cache").get_or_build("template", writer(calls)) != entry
    assert len(calls) == 2, "another version is another entry"


def corrupt_a_byte(entry: Path) -> None:
    (entry / "sub" / "state.bin").write_bytes(b"\x00" * 99 + b"\x01")


def remove_the_manifest(entry: Path) -> None:
    (entry / cache.MANIFEST).unlink()


def add_a_file(entry: Path) -> None:
    (entry / "extra.txt").write_text("planted")


def remove_a_file(entry: Path) -> None:
    (entry / "template.txt").unlink()


def add_a_link(entry: Path) -> None:
    (entry / "template.txt").unlink()
    (entry / "template.txt").symlink_to("/etc/hostname")


def truncate_the_manifest(entry: Path) -> None:
    path = entry / cache.MANIFEST
    path.write_text(path.read_text()[:10])


@pytest.mark.parametrize("damage", [corrupt_a_byte, remove_the_manifest, add_a_file, remove_a_file,
                                    add_a_link, truncate_the_manifest])
def test_a_damaged_entry_is_rebuilt_not_used(tmp_path, damage):
    store, calls = Cache(VERSION, tmp_path), []
    entry = store.get_or_build("template", writer(calls))
    damage(entry)
    assert not cache.verified(entry, VERSION, "template")
    assert store.get_or_build("template", writer(calls)) == entry
    assert len(calls) == 2
    assert cache.verified(entry, VERSION, "template")
    assert (entry / "sub" / "state.bin").read_bytes() == b"\x00" * 100
    assert not (entry / "extra.txt").exists()


def test_an_entry_that_is_a_link_does_not_verify(tmp_path):
    store = Cache(VERSION, tmp_path)
    entry = store.get_or_build("template", writer([]))
    entry.rename(tmp_path / "elsewhere")
    entry.symlink_to(tmp_path / "elsewhere")
    assert not cache.verified(entry, VERSION, "template")
    assert store.get_or_build("template", writer([])) == entry and not entry.is_symlink()


def test_an_entry_moved_to_another_version_or_name_does_not_verify(tmp_path):
    store = Cache(VERSION, tmp_path)
    entry = store.get_or_build("template", writer([]))
    other = tmp_path / ("cd" * 32) / "template"
    other.parent.mkdir()
    entry.rename(other)
    assert not cache.verified(other, "cd" * 32, "template")
    assert not cache.verified(other, VERSION, "memo")


def test_what_a_killed_writer_left_is_removed_and_the_entry_built(tmp_path):
    store, calls = Cache(VERSION, tmp_path), []
    folder = tmp_path / VERSION
    folder.mkdir(parents=True)
    left = folder / f"{cache.BUILDING}template-killed"
    left.mkdir()
    (left / "template.txt").write_text("half")
    partial = folder / "template"  # an entry without its manifest
    partial.mkdir()
    (partial / "template.txt").write_text("half")
    entry = store.get_or_build("template", writer(calls))
    assert len(calls) == 1 and (entry / "template.txt").read_text() == "template"
    assert not left.exists()
    assert sorted(p.name for p in folder.iterdir()) == [".template.lock", "template"]


class Stop(Exception):
    pass


@pytest.mark.parametrize("error", [Stop, KeyboardInterrupt])
def test_a_build_that_fails_leaves_no_scratch_and_no_entry(tmp_path, error):
    store = Cache(VERSION, tmp_path)

    def failing(folder: Path) -> None:
        (folder / "half.txt").write_text("half")
        raise error()
    with pytest.raises(error):
        store.get_or_build("template", failing)
    assert sorted(p.name for p in (tmp_path / VERSION).iterdir()) == [".template.lock"]
    assert store.get_or_build("template", writer([])).is_dir()


def test_a_build_may_write_only_plain_files_and_folders(tmp_path):
    store = Cache(VERSION, tmp_path)

    def linking(folder: Path) -> None:
        (folder / "secret").symlink_to("/etc/hostname")
    with pytest.raises(CacheError, match="link"):
        store.get_or_build("template", linking)
    assert not (tmp_path / VERSION / "template").exists()


def _race(root: str, log: str, queue) -> None:
    def slow(folder: Path) -> None:
        with open(log, "a") as file:
            file.write(f"{os.getpid()}\n")
        time.sleep(0.5)
        (folder / "template.txt").write_text("template")
    entry = Cache(VERSION, Path(root)).get_or_build("template", slow)
    queue.put((str(entry), cache.verified(entry, VERSION, "template"),
               (entry / "template.txt").read_text()))


def test_two_racing_runs_build_once_and_both_use_the_entry(tmp_path):
    context = multiprocessing.get_context("fork")
    queue, log = context.Queue(), tmp_path / "builds.log"
    runs = [context.Process(target=_race, args=(str(tmp_path / "cache"), str(log), queue))
            for _ in range(2)]
    for run in runs:
        run.start()
    answers = [queue.get(timeout=30) for _ in runs]
    for run in runs:
        run.join(timeout=30)
        assert run.exitcode == 0
    entry = str(tmp_path / "cache" / VERSION / "template")
    assert answers == [(entry, True, "template")] * 2
    assert len(log.read_text().splitlines()) == 1, "built more than once"


def test_folders_are_owner_only_and_files_too_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        def loose(folder: Path) -> None:
            (folder / "sub").mkdir(mode=0o777)
            (folder / "sub" / "state.bin").write_bytes(b"x")
            os.chmod(folder / "sub" / "state.bin", 0o666)
        root = tmp_path / "cache"
        entry = Cache(VERSION, root).get_or_build("state", loose)
    finally:
        os.umask(old)
    for folder in (root, root / VERSION, entry, entry / "sub"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for file in (entry / "sub" / "state.bin", entry / cache.MANIFEST, root / VERSION / ".state.lock"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_root_another_user_owns_is_not_used(tmp_path):
    if os.getuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    root = tmp_path / "cache"
    root.mkdir()
    os.chown(root, 12345, 12345)
    with pytest.raises(CacheError, match="another user"):
        Cache(VERSION, root).get_or_build("template", writer([]))


def test_dpr_cache_dir_moves_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    default = cache.cache_root()
    assert default.name == "dpr-course" and "cache" in str(default).lower()
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert cache.cache_root() == tmp_path / "elsewhere"
    entry = Cache(VERSION).get_or_build("template", writer([]))
    assert entry == tmp_path / "elsewhere" / VERSION / "template"


def test_cache_info_names_the_root_and_entries_and_clear_empties_it(tmp_path, monkeypatch, capsys):
    root = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(root))
    assert main(["cache", "info"]) == 0
    assert str(root) in capsys.readouterr().out
    Cache(VERSION).get_or_build("template", writer([]))
    assert main(["cache", "info"]) == 0
    shown = capsys.readouterr().out
    assert str(root) in shown and VERSION in shown and "template" in shown
    assert main(["cache", "clear"]) == 0
    assert str(root) in capsys.readouterr().out
    assert root.is_dir() and list(root.iterdir()) == []
    assert "0 version(s)" in cache.info(root)


def test_the_sandbox_never_exposes_the_cache(tmp_path, monkeypatch):
    from autograder.judge import sandbox

    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    def exposed(root: Path) -> list[str]:
        real = os.path.realpath(root)
        return [r for r in sandbox._readable_roots()
                if real == os.path.realpath(r) or real.startswith(os.path.realpath(r) + "/")]
    assert exposed(cache.cache_root()) == [] or sandbox._hidden_folders() == [
        os.path.realpath(cache.cache_root())]
    # A cache put inside a folder the sandbox binds (here a folder on sys.path) is hidden there.
    site = tmp_path / "site"
    inside = site / "dpr-cache"
    monkeypatch.syspath_prepend(str(site))
    site.mkdir()
    monkeypatch.setenv(cache.CACHE_ENV, str(inside))
    assert exposed(inside), "the test's cache should lie inside a readable root"
    assert sandbox._hidden_folders() == [os.path.realpath(inside)]
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "apart"))
    assert sandbox._hidden_folders() == []


def _what_the_child_sees(folder: str) -> bytes:
    """The cache folder as a confined call finds it: its entries, or why it cannot list them."""
    try:
        return repr(sorted(os.listdir(folder))).encode()
    except OSError as error:
        return type(error).__name__.encode()


def test_a_confined_call_sees_an_empty_folder_where_the_cache_lies_in_what_it_may_read(monkeypatch):
    """A cache inside a folder the sandbox binds (one on sys.path) is an empty folder there: not
    merely unreadable for its permissions (as for a child with a user id of its own), which a
    child running as the grader's user would not be."""
    from autograder.judge import sandbox

    scratch = Path(tempfile.mkdtemp(prefix="dpr-cache-test-"))  # not pytest's: 0700, closed
    try:                                                         # to the child's own user
        os.chmod(scratch, 0o755)
        site = scratch / "site"
        inside = site / "dpr-cache"
        site.mkdir(mode=0o755)
        monkeypatch.syspath_prepend(str(site))
        monkeypatch.setenv(cache.CACHE_ENV, str(inside))
        Cache(VERSION).get_or_build("template", writer([]))
        try:
            outcome = sandbox.run_confined(lambda: _what_the_child_sees(str(inside)))
            beside = sandbox.run_confined(lambda: _what_the_child_sees(str(site)))
        except sandbox.SandboxUnavailable:
            pytest.skip("this machine cannot confine code")
        assert beside.data == b"['dpr-cache']", "the folder around the cache should be readable"
        assert outcome.data == b"[]", outcome
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_the_judge_finds_the_same_cache_root_as_the_grader_so_its_sandbox_hides_that_one(
        tmp_path, monkeypatch):
    from autograder.judge.environment import JUDGE_PASSED_ON, judge_environment

    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "moved"))
    judge = judge_environment(config.defaults("tiny"))
    assert cache.cache_root(judge) == cache.cache_root() == tmp_path / "moved"
    assert {"HOME", "XDG_CACHE_HOME"} <= set(JUDGE_PASSED_ON)  # platformdirs' default root


def test_clear_leaves_a_version_a_run_is_building_and_says_so(tmp_path, monkeypatch, capsys):
    root = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(root))
    Cache(VERSION).get_or_build("template", writer([]))
    Cache("cd" * 32).get_or_build("template", writer([]))
    with cache._lock(root, root / VERSION, ".template.lock", cache.fcntl.LOCK_EX):  # a builder
        assert main(["cache", "clear"]) == 1
    assert VERSION in capsys.readouterr().err
    assert [p.name for p in root.iterdir()] == [VERSION]
    assert cache.clear(root)[1] == [] and list(root.iterdir()) == []


def test_a_writer_that_waited_while_clear_removed_the_version_builds_it_afresh(tmp_path):
    root, calls, got = tmp_path / "cache", [], []
    store = Cache(VERSION, root)
    # A reader verifying a hit holds the lock shared: the waiter finds no entry and waits to write.
    holding = cache._lock(root, root / VERSION, ".template.lock", cache.fcntl.LOCK_SH)
    holding.__enter__()
    waiter = threading.Thread(target=lambda: got.append(store.get_or_build("template",
                                                                            writer(calls))))
    waiter.start()
    time.sleep(0.2)  # the waiter is blocked on the lock file that is about to go
    shutil.rmtree(root / VERSION)
    with cache._lock(root, root / VERSION, ".template.lock", cache.fcntl.LOCK_EX):  # a new writer
        holding.__exit__(None, None, None)
        time.sleep(0.3)
        assert calls == [], "the waiter built while another writer held the entry's lock"
    waiter.join(timeout=10)
    assert got == [root / VERSION / "template"] and len(calls) == 1
    assert cache.verified(got[0], VERSION, "template")


def test_a_grading_run_keeps_its_template_and_memo_in_the_course_versions_cache_unless_told(
        tmp_path, monkeypatch):
    """The gradebook template and the judge's memo outlive the run in the course version's
    folder, so a later run of the same version uses them (the template is not made again);
    `grade --no-cache` makes both in the run's scratch folder, removed with it."""
    from autograder.run.supervisor import GradingRun

    monkeypatch.setenv("DPR_CACHE_DIR", str(tmp_path / "cache"))
    version = cache.course_version(config.resolve(profile="tiny", jobs=1))
    with GradingRun("tiny") as first:
        template = first.template()
        assert template == tmp_path / "cache" / version / "template"
        assert cache.verified(template, version, "template")
        assert first.memo == tmp_path / "cache" / version / "memo"
        assert stat.S_IMODE(first.memo.stat().st_mode) == 0o700
        made = (template / "gradebook.db").stat().st_mtime_ns
        first.copy_template(tmp_path / "student")
    assert (tmp_path / "student" / "gradebook.db").is_file()
    assert not (tmp_path / "student" / cache.MANIFEST).exists(), "a student's copy: no manifest"
    with GradingRun("tiny") as second:
        assert second.template() == template
        assert (template / "gradebook.db").stat().st_mtime_ns == made, "used, not made again"
    with GradingRun("tiny", cache=False) as uncached:
        assert uncached.template().is_relative_to(uncached.folder)
        assert (uncached.template() / "gradebook.db").is_file()
        assert uncached.memo == uncached.folder / "memo"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [version]
