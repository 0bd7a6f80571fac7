"""The course-version cache: what every grading run computes before its first student, kept
between runs in a per-user folder.

An entry lives at ``<root>/<version>/<name>/``. The version (``course_version``) is a digest of
everything an entry may depend on: the content of the course's source folders (the solutions,
the library, the grader, the data), the run settings that can change a result, the students'
settings, the versions of the packages that compute, the interpreter and the machine. A change
to any of them is another version, so an entry is never used for inputs it was not built from.

An entry is whole or absent. It is built into a scratch folder beside it, its manifest (each
file's sha256) written last, then renamed into place; one writer per entry (``fcntl.flock`` on a
lock file), and a second one waits and uses the first one's entry. It is used only when its
manifest verifies (no file missing, none extra, none changed); otherwise it is removed and
built again. Folders are 0700 and files 0600: only the grading user reads them, and the sandbox
hides the root from students' code (``autograder/judge/sandbox.py``).

The root is ``$DPR_CACHE_DIR``, else platformdirs' user cache folder for ``dpr-course``.
``python -m autograder cache info|clear`` shows and empties it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

from autograder.config import SETTINGS, RunConfig
from dpr_course import settings

CACHE_ENV = "DPR_CACHE_DIR"
APP_NAME = "dpr-course"
MANIFEST = ".manifest.json"
FORMAT = 1                       # of the manifest and of the version's inputs
BUILDING = ".build-"             # a scratch folder of an entry being built: <version>/.build-<name>-*
TRASH = ".trash-"                # an entry being removed
COURSE_ROOT = Path(__file__).resolve().parents[1]  # autograder.course.paths' (a layer above)

# What the version hashes, relative to the course root: folders whole, and single files.
SOURCE_FOLDERS = ("solutions", "notebooks", "dpr_course", "autograder", "data")
SOURCE_FILES = ("nbgrader_config.py", "course.toml")
SKIPPED_FOLDERS = frozenset({"__pycache__", "tests", ".ipynb_checkpoints", ".pytest_cache"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
# The packages whose versions can change what is computed or generated.
PACKAGES = ("torch", "transformers", "tokenizers", "numpy", "nbgrader", "nbconvert", "nbformat")
# RunConfig fields that name this run's own processes and folders, not what it computes.
RUN_ONLY_FIELDS = frozenset({"server", "memo", "grader_pid", "trace", "jobs"})


class CacheError(RuntimeError):
    """The cache cannot be used safely (a root another user can write to, a failed build)."""


# --------------------------------------------------------------------------------------------
# The version


def course_version(config: RunConfig, root: Path | None = None, environ=os.environ) -> str:
    """A hex digest of every input a cached entry may depend on, for a run with ``config``."""
    inputs = {
        "format": FORMAT,
        "sources": source_digest(root or COURSE_ROOT),
        "settings": result_settings(config),
        "student_settings": student_settings(config.profile, environ),
        "nq_data": nq_data_digest(environ),
        "models": model_digest(config.profile, environ),
        "packages": package_versions(),
        "installed": installed_digest(),
        "gpu": config.wants_gpu(),
        "platform": platform_facts(),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def source_files(root: Path) -> list[Path]:
    """The course's source files the version covers, in a stable order (relative to ``root``)."""
    found = [Path(name) for name in SOURCE_FILES if (root / name).is_file()]
    for folder in SOURCE_FOLDERS:
        for where, folders, files in os.walk(root / folder):
            folders[:] = sorted(f for f in folders if f not in SKIPPED_FOLDERS)
            found += [Path(where, name).relative_to(root) for name in files
                      if not name.endswith(SKIPPED_SUFFIXES)]
    return sorted(found, key=lambda path: path.as_posix())


def source_digest(root: Path) -> str:
    """sha256 over each source file's path and content."""
    digest = hashlib.sha256()
    for path in source_files(root):
        digest.update(f"{path.as_posix()}\0".encode())
        digest.update(file_sha256(root / path).encode())
    return digest.hexdigest()


def result_settings(config: RunConfig) -> dict:
    """The run settings that can change a result: every field but the run's own (a field added
    to RunConfig is part of the version unless it is named in ``RUN_ONLY_FIELDS``)."""
    return {name: value for name, value in sorted(dataclasses.asdict(config).items())
            if name not in RUN_ONLY_FIELDS}


def student_settings(profile: str, environ=os.environ) -> dict:
    """The library's settings (``dpr_course/settings.py``) as the run's processes see them."""
    return {setting.name: settings.value(setting, environ, profile) for setting in settings.TABLE}


def nq_data_digest(environ=os.environ) -> str:
    """The content of ``$DPR_NQ_DIR``'s files, where it is set: the full profile's real data."""
    folder = (environ.get("DPR_NQ_DIR") or "").strip()
    if not folder or not os.path.isdir(folder):
        return ""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        path = Path(folder, name)
        if path.is_file():
            digest.update(f"{name}\0{file_sha256(path)}\0".encode())
    return digest.hexdigest()


def model_digest(profile: str, environ=os.environ) -> dict:
    """Which revision of each of the profile's hub models the Hugging Face cache holds: its refs,
    and the blobs (named by their content's hash) its snapshots link to."""
    from dpr_course.profiles import PROFILES

    chosen = PROFILES[profile]
    hub = environ.get("HF_HUB_CACHE") or os.path.join(
        environ.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface"), "hub")
    found = {}
    for model in sorted({chosen.model_source, chosen.tokenizer_source}):
        folder = Path(hub, "models--" + model.replace("/", "--"))
        if not folder.is_dir():
            continue
        entries = []
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if relative.startswith("refs/") and path.is_file():
                entries.append(f"{relative}={path.read_text(errors='replace').strip()}")
            elif relative.startswith("snapshots/") and path.is_symlink():
                entries.append(f"{relative}->{os.path.basename(os.readlink(path))}")
        found[model] = hashlib.sha256("\n".join(entries).encode()).hexdigest()
    return found


def package_version(name: str) -> str:
    """An installed distribution's version ('' when it is not installed)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def package_versions() -> dict:
    return {name: package_version(name) for name in PACKAGES}


def installed_distributions() -> list[str]:
    """Every installed distribution as ``name==version``: what ``PACKAGES`` does not name can
    compute too (the BM25 baseline, faiss, the tokenizer's vocabulary package)."""
    return list(_distributions())


@functools.lru_cache(maxsize=1)
def _distributions() -> tuple:
    return tuple(sorted({f"{(d.metadata['Name'] or '').lower()}=={d.version}"
                         for d in metadata.distributions()}))


def installed_digest() -> str:
    return hashlib.sha256("\n".join(installed_distributions()).encode()).hexdigest()


def platform_facts() -> dict:
    """What can change floating-point results on the same inputs: the interpreter, the machine
    and its processor (a home folder shared by a cluster's different machines)."""
    return {"python": platform.python_version(), "implementation": sys.implementation.name,
            "machine": platform.machine(), "system": platform.system(), "cpu": cpu_model()}


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# The store


def cache_root(environ=os.environ) -> Path:
    """``$DPR_CACHE_DIR``, else the user's cache folder for the course."""
    given = settings.value(SETTINGS[CACHE_ENV], environ, "tiny")  # the same in both profiles
    if given:
        return Path(given).expanduser().absolute()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME)).absolute()


def owned_folder(path: Path) -> Path:
    """``path`` made if needed, owner-only (0700); an error if another user owns it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = path.stat()
    if status.st_uid != os.getuid():
        raise CacheError(f"{path} belongs to another user (uid {status.st_uid}): not used")
    if status.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


class Cache:
    """The entries of one course version: ``Cache(course_version(config)).get_or_build(name,
    build)``."""

    def __init__(self, version: str, root: Path | None = None):
        if not version or not all(c in "0123456789abcdef" for c in version):
            raise ValueError(f"a course version is a hex digest, not {version!r}")
        self.version = version
        self.root = Path(root) if root is not None else cache_root()
        self.folder = self.root / version

    def entry(self, name: str) -> Path:
        if not name or name.startswith(".") or "/" in name or name in {"..", "."}:
            raise ValueError(f"an entry's name is a plain file name, not {name!r}")
        return self.folder / name

    def get_or_build(self, name: str, build: Callable[[Path], object]) -> Path:
        """The verified entry ``name``; built first (``build(folder)`` writes it into an empty
        folder) when it is absent, partial or corrupt."""
        entry = self.entry(name)
        with self._locked(name, fcntl.LOCK_SH):  # makes the folders, owner-only
            if verified(entry, self.version, name):
                return entry
        with self._locked(name, fcntl.LOCK_EX):
            if verified(entry, self.version, name):  # built by the writer we waited for
                return entry
            _remove(entry)
            for prefix in (BUILDING, TRASH):  # left by a writer that was killed
                for stale in self.folder.glob(f"{prefix}{name}-*"):
                    shutil.rmtree(stale, ignore_errors=True)
            scratch = Path(tempfile.mkdtemp(prefix=f"{BUILDING}{name}-", dir=self.folder))
            try:
                build(scratch)
                _seal(scratch, self.version, name)
                os.rename(scratch, entry)
            finally:
                if scratch.exists():
                    shutil.rmtree(scratch, ignore_errors=True)
            if not verified(entry, self.version, name):
                raise CacheError(f"the entry {entry} did not verify once built")
            return entry

    def store(self, name: str) -> Path:
        """The folder ``name`` of this version, made owner-only: for a store that grows file by
        file and whose files vouch for themselves (the judge's memo), not a sealed entry."""
        owned_folder(self.root)
        owned_folder(self.folder)
        return owned_folder(self.entry(name))

    def _locked(self, name: str, how: int):
        return _lock(self.root, self.folder, f".{name}.lock", how)


@contextlib.contextmanager
def _lock(root: Path, folder: Path, name: str, how: int) -> Iterator[None]:
    """``flock`` on ``folder/name``, made if needed; again when ``clear`` removed the file while
    this process waited (a lock on a removed file excludes no one)."""
    while True:
        owned_folder(root)
        owned_folder(folder)
        handle = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, how)
            try:
                current = os.stat(folder / name).st_ino == os.fstat(handle).st_ino
            except FileNotFoundError:
                current = False
        except BaseException:
            os.close(handle)
            raise
        if current:
            break
        os.close(handle)
    try:
        yield
    finally:
        os.close(handle)  # releases the lock


def _seal(folder: Path, version: str, name: str) -> None:
    """Make a built folder owner-only and write its manifest, last."""
    files = {}
    for where, folders, names in os.walk(folder):
        for sub in folders:
            path = Path(where, sub)
            if path.is_symlink():
                raise CacheError(f"a cache entry holds plain files and folders: {path} is a link")
            os.chmod(path, 0o700)
        for file in names:
            path = Path(where, file)
            if path.is_symlink() or not path.is_file():
                raise CacheError(f"a cache entry holds plain files and folders: {path} is a link "
                                 "or a special file")
            os.chmod(path, 0o600)
            files[path.relative_to(folder).as_posix()] = file_sha256(path)
    os.chmod(folder, 0o700)
    if MANIFEST in files:
        raise CacheError(f"a build may not write {MANIFEST}")
    manifest = folder / MANIFEST
    handle = os.open(manifest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump({"format": FORMAT, "version": version, "name": name,
                   "files": dict(sorted(files.items()))}, file)
        file.flush()
        os.fsync(file.fileno())


def verified(entry: Path, version: str, name: str) -> bool:
    """Whether ``entry`` is whole: its manifest names this version and entry, and exactly its
    files, each with its sha256; nothing in it is a link."""
    try:
        if entry.is_symlink():
            return False
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        expected = manifest["files"]
        if (manifest.get("format"), manifest.get("version"), manifest.get("name")) != \
                (FORMAT, version, name) or not isinstance(expected, dict):
            return False
        present = {}
        for where, folders, names in os.walk(entry):
            for item in [*folders, *names]:
                path = Path(where, item)
                if path.is_symlink():
                    return False
                if item in names:
                    present[path.relative_to(entry).as_posix()] = path
        present.pop(MANIFEST, None)
        if present.keys() != expected.keys():
            return False
        return all(file_sha256(path) == expected[key] for key, path in present.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _remove(path: Path) -> None:
    """Remove a folder, first renamed aside so that no half-removed entry is ever at its name."""
    if not os.path.lexists(path):
        return
    aside = path.with_name(f"{TRASH}{path.name}-{os.getpid()}")
    try:
        os.rename(path, aside)
    except OSError:
        aside = path
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# cache info | clear


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*")
               if path.is_file() and not path.is_symlink())


def info(root: Path | None = None) -> str:
    """What the cache holds: its root, and each version's entries with their sizes."""
    root = Path(root) if root is not None else cache_root()
    lines = [f"cache root: {root}"]
    if not root.is_dir():
        return "\n".join(lines + ["empty (the folder does not exist)"])
    total = 0
    versions = sorted(path for path in root.iterdir()
                      if path.is_dir() and not path.name.startswith("."))
    lines += [f"{path.name}: left by a stopped clear" for path in sorted(root.glob(f"{TRASH}*"))]
    for version in versions:
        size = folder_bytes(version)
        total += size
        lines.append(f"version {version.name}: {_size(size)}")
        for entry in sorted(version.iterdir()):
            if entry.is_dir() and not entry.name.startswith("."):
                whole = "" if (entry / MANIFEST).is_file() else " (incomplete)"
                lines.append(f"  {entry.name}: {_size(folder_bytes(entry))}{whole}")
            elif entry.is_dir() and entry.name.startswith((BUILDING, TRASH)):
                lines.append(f"  {entry.name}: {_size(folder_bytes(entry))} (left by a stopped run)")
    lines.append(f"{len(versions)} version(s), {_size(total)} in all")
    return "\n".join(lines)


def clear(root: Path | None = None) -> tuple[int, list[str]]:
    """Empty the cache (the root stays, owner-only): (the bytes it freed, the versions it left
    because a run is building one of their entries)."""
    root = Path(root) if root is not None else cache_root()
    if not root.is_dir():
        return 0, []
    freed, busy = 0, []
    for path in sorted(root.iterdir()):
        if not path.is_dir() or path.is_symlink():
            path.unlink()
            continue
        with contextlib.ExitStack() as locks:
            try:  # every entry's lock, held while the version goes: no writer is halfway
                for lock in sorted(path.glob(".*.lock")):
                    locks.enter_context(_lock(root, path, lock.name, fcntl.LOCK_EX | fcntl.LOCK_NB))
            except BlockingIOError:
                busy.append(path.name)
                continue
            size = folder_bytes(path)
            _remove(path)
            freed += size
    return freed, busy


def _size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
