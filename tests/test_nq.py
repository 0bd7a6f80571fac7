"""Tests for dpr_course.nq: validation, loading, DPR conversion, fetching (network mocked)."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from dpr_course import nq
from dpr_course.nq import NQDataNotFoundError, NQFormatError

FIXTURES = Path(__file__).parent / "fixtures"
VALID_DIR = FIXTURES / "nq_toy_valid"
BROKEN = FIXTURES / "broken"
DPR_SMALL = FIXTURES / "dpr_biencoder_small.json"
DPR_MALFORMED = FIXTURES / "dpr_biencoder_malformed.json"

GOOD_RECORD = {
    "question": "who wrote hamlet",
    "answers": ["Shakespeare"],
    "gold_context": {"title": "Hamlet", "text": "A tragedy."},
}


def write_records(path: Path, records) -> Path:
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def with_change(change) -> dict:
    """A deep copy of GOOD_RECORD with ``change`` applied to it."""
    record = json.loads(json.dumps(GOOD_RECORD))
    change(record)
    return record


# ---------------------------------------------------------------------------------------------
# load_nq_file / load_nq_dir
# ---------------------------------------------------------------------------------------------

def test_load_valid_dir_keeps_records_and_extra_keys():
    train, val = nq.load_nq_dir(VALID_DIR)
    assert [len(train), len(val)] == [3, 1]
    assert train[0]["hard_negative"] == {
        "title": "Macbeth", "text": "Macbeth is a tragedy about a Scottish general."
    }
    assert train[1]["answers"] == ["100 °C"]
    assert val[0]["gold_context"]["title"] == "Jupiter"


def test_int_text_names_file_record_and_field():
    path = BROKEN / "text_is_int.json"
    with pytest.raises(NQFormatError) as info:
        nq.load_nq_file(path)
    assert str(info.value) == (
        f"{path}: record 1: field 'gold_context.text' must be a non-empty string, got int"
    )


def test_bad_json_says_line_and_column():
    path = BROKEN / "bad_json.json"
    with pytest.raises(NQFormatError, match=r"bad_json\.json: not valid JSON: .* line 4, column 3"):
        nq.load_nq_file(path)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("not_a_list.json", r"top level must be a JSON list of records, got dict"),
        ("answers_empty.json",
         r"record 0: field 'answers' must be a non-empty list .* got an empty list"),
        ("record_not_object.json", r"record 1: must be a JSON object, got str"),
    ],
)
def test_broken_fixture_files(name, expected):
    with pytest.raises(NQFormatError, match=expected):
        nq.load_nq_file(BROKEN / name)


@pytest.mark.parametrize(
    "change, field_name, got",
    [
        (lambda r: r.pop("question"), "question", "null"),
        (lambda r: r.update(question="   "), "question", "a blank string"),
        (lambda r: r.update(answers="Shakespeare"), "answers", "str"),
        (lambda r: r.update(answers=["ok", 3]), "answers[1]", "int"),
        (lambda r: r.update(gold_context="Hamlet"), "gold_context", "str"),
        (lambda r: r["gold_context"].update(title=""), "gold_context.title", "an empty string"),
        (lambda r: r["gold_context"].pop("text"), "gold_context.text", "null"),
    ],
)
def test_each_field_is_checked(tmp_path, change, field_name, got):
    records = [GOOD_RECORD, GOOD_RECORD, with_change(change)]
    path = write_records(tmp_path / "nq-train.json", records)
    with pytest.raises(NQFormatError) as info:
        nq.load_nq_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: record 2: field '{field_name}' must be")
    assert message.endswith(f"got {got}")


def test_missing_empty_and_empty_list_files(tmp_path):
    with pytest.raises(NQDataNotFoundError, match=r"nope\.json: does not exist"):
        nq.load_nq_file(tmp_path / "nope.json")
    (tmp_path / "empty.json").write_text("\n")
    with pytest.raises(NQFormatError, match="the file is empty"):
        nq.load_nq_file(tmp_path / "empty.json")
    with pytest.raises(NQFormatError, match="the list of records is empty"):
        nq.load_nq_file(write_records(tmp_path / "none.json", []))


def test_load_dir_missing_file_lists_folder(tmp_path):
    shutil.copy(VALID_DIR / "nq-train.json", tmp_path)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(NQDataNotFoundError) as info:
        nq.load_nq_dir(tmp_path)
    message = str(info.value)
    assert "missing nq-val.json" in message
    assert "the folder holds: notes.txt, nq-train.json" in message


# ---------------------------------------------------------------------------------------------
# convert_dpr_biencoder
# ---------------------------------------------------------------------------------------------

def test_convert_takes_first_positive_and_reports_skipped(tmp_path):
    dst = tmp_path / "out" / "nq-train.json"
    report = nq.convert_dpr_biencoder(DPR_SMALL, dst)
    assert (report.n_read, report.n_converted) == (4, 3)
    assert report.skipped == [(2, "what is the capital of atlantis")]
    assert report.summary() == f"converted 3 of 4 records from {DPR_SMALL} to {dst}"

    records = nq.load_nq_file(dst)  # the output passes the loader's validation
    assert [r["question"] for r in records] == [
        "who wrote the declaration of independence",
        "how many moons does mars have",
        "where was the müller-lyer illusion first described",
    ]
    assert records[1] == {
        "question": "how many moons does mars have",
        "answers": ["two", "2"],
        "gold_context": {
            "title": "Moons of Mars", "text": "Mars has two small moons, Phobos and Deimos."
        },
    }
    assert records[2]["gold_context"]["text"].endswith("錯視 (optical illusion) 🙂.")
    # Unicode is written as itself, not as \\u escapes.
    assert "Müller-Lyer illusion" in dst.read_text(encoding="utf-8")


def test_convert_strict_raises_and_writes_nothing(tmp_path):
    dst = tmp_path / "nq-train.json"
    expected = r"dpr_biencoder_small\.json: record 2: no positive context"
    with pytest.raises(NQFormatError, match=expected):
        nq.convert_dpr_biencoder(DPR_SMALL, dst, strict=True)
    assert list(tmp_path.iterdir()) == []


def test_convert_malformed_record_names_source_and_index(tmp_path):
    with pytest.raises(NQFormatError) as info:
        nq.convert_dpr_biencoder(DPR_MALFORMED, tmp_path / "out.json")
    assert str(info.value) == (
        f"{DPR_MALFORMED}: record 1: field 'question' must be a non-empty string, got null"
    )


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"question": "q"}', "top level must be a JSON list"),
        ('[{"question": "q", "answers": ["a"], "positive_ctxs": [{"title": "T", "text": ',
         "not valid JSON after 0 complete records"),
        ('[{"question": "q", "answers": ["a"]}]', "field 'positive_ctxs' must be a list, got null"),
        ('[{"question": "q", "answers": ["a"], "positive_ctxs": [{"title": "", "text": "t"}]}]',
         "field 'positive_ctxs\\[0\\].title' must be a non-empty string"),
    ],
)
def test_convert_rejects_bad_input(tmp_path, content, expected):
    src = tmp_path / "biencoder.json"
    src.write_text(content)
    with pytest.raises(NQFormatError, match=expected):
        nq.convert_dpr_biencoder(src, tmp_path / "out.json")


def test_convert_accepts_byte_order_mark(tmp_path):
    src = tmp_path / "biencoder-nq-dev.json"
    src.write_bytes(b"\xef\xbb\xbf" + DPR_SMALL.read_bytes())
    assert nq.convert_dpr_biencoder(src, tmp_path / "out.json").n_converted == 3


def test_convert_does_not_json_load_the_source(tmp_path, monkeypatch):
    """The real train file is GBs: it must be streamed."""
    def refuse(*args, **kwargs):
        raise AssertionError("json.load(s) called on the source")

    monkeypatch.setattr(nq.json, "load", refuse)
    monkeypatch.setattr(nq.json, "loads", refuse)
    report = nq.convert_dpr_biencoder(DPR_SMALL, tmp_path / "out.json")
    assert report.n_converted == 3


def test_cli_convert_prints_counts_and_skipped(tmp_path, capsys):
    dst = tmp_path / "nq-val.json"
    assert nq.main(["convert", str(DPR_SMALL), str(dst)]) == 0
    out, err = capsys.readouterr()
    assert f"converted 3 of 4 records from {DPR_SMALL} to {dst}" in out
    assert "skipped 1 records with no positive context" in err
    assert "record 2: 'what is the capital of atlantis'" in err

    assert nq.main(["convert", str(DPR_SMALL), str(tmp_path / "x.json"), "--strict"]) == 1
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_cli_check(capsys):
    assert nq.main(["check", str(VALID_DIR)]) == 0
    assert "3 train and 1 val records" in capsys.readouterr().out
    assert nq.main(["check", str(BROKEN)]) == 1
    assert "missing nq-train.json and nq-val.json" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# fetch_nq_toy (gdown mocked: no network)
# ---------------------------------------------------------------------------------------------

def nq_file_bytes() -> dict[str, bytes]:
    return {name: (VALID_DIR / name).read_bytes() for name in nq.NQ_FILES}


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in nq_file_bytes().items():
            zf.writestr(f"nq/{name}", data)
        # macOS zips carry resource forks; this one would win the shallowest-path tie if kept.
        zf.writestr("__MACOSX/nq-train.json", b"junk")
        zf.writestr("__MACOSX/nq/._nq-train.json", b"junk")
    return buffer.getvalue()


def tar_gz_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in nq_file_bytes().items():
            info = tarfile.TarInfo(f"deep/er/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def plain_json_download() -> bytes:
    files = nq_file_bytes()
    return json.dumps({
        "train": json.loads(files["nq-train.json"]), "val": json.loads(files["nq-val.json"])
    }).encode()


def fake_gdown(monkeypatch, payload: bytes | None, calls: list | None = None):
    gdown = pytest.importorskip("gdown")

    def download(id=None, output=None, quiet=False, **kwargs):
        if calls is not None:
            calls.append(id)
        if payload is None:
            return None  # what gdown does when Drive refuses
        Path(output).write_bytes(payload)
        return output

    monkeypatch.setattr(gdown, "download", download)


@pytest.mark.parametrize("payload", [zip_archive, tar_gz_archive, plain_json_download])
def test_fetch_unpacks_archive_by_content(tmp_path, monkeypatch, payload):
    calls = []
    fake_gdown(monkeypatch, payload(), calls)
    dest = tmp_path / "nq-toy"
    assert nq.fetch_nq_toy(dest) == dest
    assert calls == [nq.NQ_TOY_DRIVE_ID]
    assert sorted(p.name for p in dest.iterdir()) == ["nq-train.json", "nq-val.json"]
    train, val = nq.load_nq_dir(dest)
    assert (len(train), len(val)) == (3, 1)


def test_a_download_is_checked_once_its_checksum_is_known(tmp_path, monkeypatch, capsys):
    import hashlib

    payload = zip_archive()
    fake_gdown(monkeypatch, payload)
    nq.fetch_nq_toy(tmp_path / "unknown")
    assert "unchecked, as no checksum of the archive is recorded yet" in capsys.readouterr().out
    known = {"bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    monkeypatch.setattr(nq, "NQ_TOY_ARCHIVE", known)
    nq.fetch_nq_toy(tmp_path / "known")
    assert "size and SHA-256 match" in capsys.readouterr().out
    monkeypatch.setattr(nq, "NQ_TOY_ARCHIVE", dict(known, sha256="0" * 64))
    with pytest.raises(NQDataNotFoundError, match="not the recorded archive"):
        nq.fetch_nq_toy(tmp_path / "changed")


def test_fetch_skips_download_when_files_present(tmp_path, monkeypatch):
    calls = []
    fake_gdown(monkeypatch, None, calls)
    shutil.copytree(VALID_DIR, tmp_path / "nq-toy")
    assert nq.fetch_nq_toy(tmp_path / "nq-toy") == tmp_path / "nq-toy"
    assert calls == []


def test_fetch_failure_explains_alternatives(tmp_path, monkeypatch):
    fake_gdown(monkeypatch, None)
    with pytest.raises(NQDataNotFoundError) as info:
        nq.fetch_nq_toy(tmp_path / "nq-toy")
    message = str(info.value)
    assert "gdown could not download" in message
    assert "from google.colab import files; files.upload()" in message
    assert nq.NQ_DIR_ENV in message
    assert "python -m dpr_course.nq convert biencoder-nq-train.json" in message
    assert list((tmp_path / "nq-toy").iterdir()) == []  # no leftovers


def test_fetch_exception_and_html_page_become_instructions(tmp_path, monkeypatch):
    gdown = pytest.importorskip("gdown")

    def offline(**kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(gdown, "download", offline)
    with pytest.raises(NQDataNotFoundError, match=r"(?s)ConnectionError: no network.*DPR_NQ_DIR"):
        nq.fetch_nq_toy(tmp_path / "a")

    fake_gdown(monkeypatch, b"<!DOCTYPE html><html>Quota exceeded</html>")
    expected = r"(?s)web page instead of the data.*files.upload"
    with pytest.raises(NQDataNotFoundError, match=expected):
        nq.fetch_nq_toy(tmp_path / "b")


def test_fetch_archive_without_the_files(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("nq/nq-train.json", b"[]")
        zf.writestr("nq/README.txt", b"hi")
    fake_gdown(monkeypatch, buffer.getvalue())
    expected = r"holds no nq-val.json; it holds: nq/README.txt, nq/nq-train.json"
    with pytest.raises(NQDataNotFoundError, match=expected):
        nq.fetch_nq_toy(tmp_path / "nq-toy")
    assert not (tmp_path / "nq-toy" / "nq-train.json").exists()


def test_fetch_refuses_zip_path_traversal(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../../evil.json", b"[]")
    fake_gdown(monkeypatch, buffer.getvalue())
    with pytest.raises(NQDataNotFoundError, match="unsafe path"):
        nq.fetch_nq_toy(tmp_path / "x" / "nq-toy")
    assert not (tmp_path / "evil.json").exists()


# ---------------------------------------------------------------------------------------------
# find_nq_toy_dir / load_nq_toy
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def places(tmp_path, monkeypatch):
    """Point the repo and Colab folders at empty temporary ones; unset DPR_NQ_DIR."""
    repo_root = tmp_path / "repo"
    (repo_root / "data").mkdir(parents=True)
    (repo_root / "pyproject.toml").write_text("")
    monkeypatch.setattr(nq, "REPO_ROOT", repo_root)
    monkeypatch.setattr(nq, "REPO_NQ_DIR", repo_root / "data" / "nq-toy")
    monkeypatch.setattr(nq, "COLAB_NQ_DIR", tmp_path / "content" / "nq-toy")
    monkeypatch.delenv(nq.NQ_DIR_ENV, raising=False)

    fetched = []

    def no_fetch(dest_dir, file_id=nq.NQ_TOY_DRIVE_ID):
        fetched.append(Path(dest_dir))
        return Path(dest_dir)

    monkeypatch.setattr(nq, "fetch_nq_toy", no_fetch)
    return fetched


def test_find_prefers_env_var(places, monkeypatch):
    shutil.copytree(VALID_DIR, nq.REPO_NQ_DIR)
    monkeypatch.setenv(nq.NQ_DIR_ENV, str(VALID_DIR))
    assert nq.find_nq_toy_dir() == VALID_DIR
    assert places == []


def test_find_env_var_without_files_is_an_error(places, monkeypatch, tmp_path):
    shutil.copytree(VALID_DIR, nq.REPO_NQ_DIR)  # present, but the user asked for another folder
    monkeypatch.setenv(nq.NQ_DIR_ENV, str(tmp_path / "elsewhere"))
    with pytest.raises(NQDataNotFoundError, match=r"DPR_NQ_DIR=.*elsewhere: missing nq-train.json"):
        nq.find_nq_toy_dir()


def test_find_repo_then_colab_then_download(places):
    assert nq.find_nq_toy_dir() == nq.REPO_NQ_DIR  # nothing anywhere: download into the repo
    assert places == [nq.REPO_NQ_DIR]

    shutil.copytree(VALID_DIR, nq.COLAB_NQ_DIR)
    assert nq.find_nq_toy_dir() == nq.COLAB_NQ_DIR

    shutil.copytree(VALID_DIR, nq.REPO_NQ_DIR)
    assert nq.find_nq_toy_dir() == nq.REPO_NQ_DIR
    assert len(places) == 1


def test_find_without_download_explains(places):
    with pytest.raises(NQDataNotFoundError, match=r"(?s)DPR_NQ_DIR is not set.*files.upload"):
        nq.find_nq_toy_dir(download=False)
    assert places == []


def test_load_nq_toy_uses_found_dir(places, monkeypatch):
    monkeypatch.setenv(nq.NQ_DIR_ENV, str(VALID_DIR))
    train, val = nq.load_nq_toy()
    assert (len(train), len(val)) == (3, 1)
