"""Natural Questions data for the course: load, validate, convert, fetch.

The course reads "NQ-toy", the format of the original assignment: a folder holding
``nq-train.json`` (58,880 records) and ``nq-val.json`` (6,515 records), each a JSON list of::

    {"question": str, "answers": [str, ...], "gold_context": {"title": str, "text": str}}

Records may carry extra keys (e.g. ``hard_negative``); they are kept as they are.

Where the data comes from, in the order :func:`find_nq_toy_dir` tries:

1. a folder named by the environment variable ``DPR_NQ_DIR``;
2. ``<repo>/data/nq-toy`` (git-ignored);
3. ``/content/nq-toy`` (where a Colab upload usually ends up);
4. a download of the original assignment's archive from Google Drive (:func:`fetch_nq_toy`,
   needs ``gdown``; no Drive mount, no token).

If the Drive copy is gone, NQ-toy can be rebuilt from DPR's published biencoder files
(``biencoder-nq-train.json``, ``biencoder-nq-dev.json`` from facebookresearch/DPR): those hold
exactly the questions that have a positive passage, 58,880 and 6,515 of them, which is where
the assignment's counts come from. :func:`convert_dpr_biencoder` keeps the question, the
answers and the FIRST positive passage as the gold context::

    python -m dpr_course.nq convert biencoder-nq-train.json data/nq-toy/nq-train.json
    python -m dpr_course.nq convert biencoder-nq-dev.json   data/nq-toy/nq-val.json
    python -m dpr_course.nq check data/nq-toy

Every loader validates every record and names the file, the record index and the field of the
first problem it finds (:class:`NQFormatError`); nothing is dropped silently.
"""

from __future__ import annotations

import argparse
import codecs
import gzip
import json
import os
import shutil
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import REPO_ROOT

TRAIN_FILE = "nq-train.json"
VAL_FILE = "nq-val.json"
NQ_FILES = (TRAIN_FILE, VAL_FILE)

NQ_DIR_ENV = "DPR_NQ_DIR"
# The original assignment's preprocessed NQ-toy archive on Google Drive. Its size and SHA-256
# are recorded here once someone has downloaded it (no machine of this project can reach
# Drive); until then a download is reported as unchecked, with the figures to record.
NQ_TOY_DRIVE_ID = "1rHm8Nt3nIkmOeO2VU2YQPqdAoV0WQoMM"
NQ_TOY_ARCHIVE: dict = {"bytes": None, "sha256": None}

REPO_NQ_DIR = REPO_ROOT / "data" / "nq-toy"
COLAB_NQ_DIR = Path("/content/nq-toy")


class NQFormatError(ValueError):
    """A data file is not valid NQ-toy (or DPR biencoder) data."""


class NQDataNotFoundError(FileNotFoundError):
    """The NQ-toy files are not where they were looked for and could not be fetched."""


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

def _describe(value: Any) -> str:
    """What a bad value is, in words a student can act on."""
    if isinstance(value, str):
        if value == "":
            return "an empty string"
        return "a blank string" if not value.strip() else "str"
    if isinstance(value, list) and not value:
        return "an empty list"
    if value is None:
        return "null"
    return type(value).__name__


def _is_nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _require_nonempty_str(value: Any, field_name: str, where: str) -> None:
    if not _is_nonempty_str(value):
        raise NQFormatError(
            f"{where}: field '{field_name}' must be a non-empty string, got {_describe(value)}"
        )


def _require_object(value: Any, field_name: str, where: str) -> None:
    if not isinstance(value, dict):
        raise NQFormatError(
            f"{where}: field '{field_name}' must be an object, got {_describe(value)}"
        )


def _require_answers(answers: Any, where: str) -> None:
    if not isinstance(answers, list) or not answers:
        raise NQFormatError(
            f"{where}: field 'answers' must be a non-empty list of strings, "
            f"got {_describe(answers)}"
        )
    for i, answer in enumerate(answers):
        if not isinstance(answer, str):
            raise NQFormatError(
                f"{where}: field 'answers[{i}]' must be a string, got {_describe(answer)}"
            )


def _require_record_object(record: Any, where: str) -> None:
    if not isinstance(record, dict):
        raise NQFormatError(f"{where}: must be a JSON object, got {_describe(record)}")


def validate_nq_record(record: Any, where: str) -> None:
    """Raise :class:`NQFormatError` unless ``record`` is a valid NQ-toy record.

    ``where`` prefixes the message, e.g. ``"data/nq-toy/nq-train.json: record 17"``.
    """
    _require_record_object(record, where)
    _require_nonempty_str(record.get("question"), "question", where)
    _require_answers(record.get("answers"), where)
    gold = record.get("gold_context")
    _require_object(gold, "gold_context", where)
    # NQ passages always come with their Wikipedia article title, so an empty one is a bug.
    _require_nonempty_str(gold.get("title"), "gold_context.title", where)
    _require_nonempty_str(gold.get("text"), "gold_context.text", where)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def _read_json(path: Path) -> Any:
    """``json.load`` with errors that name the file and, for bad JSON, the line and column."""
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise NQDataNotFoundError(f"{path}: {what}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise NQFormatError(f"{path}: not UTF-8 text ({err})") from err
    if not text.strip():
        raise NQFormatError(f"{path}: the file is empty (expected a JSON list of records)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise NQFormatError(
            f"{path}: not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        ) from err


def load_nq_file(path: str | os.PathLike) -> list[dict]:
    """Read one NQ-toy file and validate every record; return the records unchanged."""
    path = Path(path)
    records = _read_json(path)
    if not isinstance(records, list):
        raise NQFormatError(
            f"{path}: the top level must be a JSON list of records, got {_describe(records)}"
        )
    # An empty file of records is never what a training run wants; say so now, not later.
    if not records:
        raise NQFormatError(f"{path}: the list of records is empty")
    for index, record in enumerate(records):
        validate_nq_record(record, f"{path}: record {index}")
    return records


def _listing(folder: Path, limit: int = 20) -> str:
    """A short, readable list of what a folder holds, for error messages."""
    if not folder.is_dir():
        return "(the folder does not exist)"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    return _short_list(names, limit) if names else "(the folder is empty)"


def _short_list(names: list[str], limit: int) -> str:
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def missing_nq_files(folder: str | os.PathLike) -> list[str]:
    """The NQ-toy file names that ``folder`` does not hold (empty list: it holds both)."""
    folder = Path(folder)
    return [name for name in NQ_FILES if not (folder / name).is_file()]


def load_nq_dir(folder: str | os.PathLike) -> tuple[list[dict], list[dict]]:
    """Load and validate ``nq-train.json`` and ``nq-val.json`` from ``folder``."""
    folder = Path(folder)
    missing = missing_nq_files(folder)
    if missing:
        raise NQDataNotFoundError(
            f"{folder}: missing {' and '.join(missing)}; the folder holds: {_listing(folder)}"
        )
    return load_nq_file(folder / TRAIN_FILE), load_nq_file(folder / VAL_FILE)


# --------------------------------------------------------------------------------------------
# Converting DPR's biencoder files
# --------------------------------------------------------------------------------------------

@dataclass
class ConversionReport:
    """What :func:`convert_dpr_biencoder` did. ``skipped`` lists (index, question) pairs."""

    src: Path
    dst: Path
    n_read: int = 0
    n_converted: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"converted {self.n_converted} of {self.n_read} records from {self.src} to {self.dst}"
        )

    def skipped_lines(self, limit: int = 20) -> list[str]:
        """Human-readable lines about the records that had no positive context."""
        if not self.skipped:
            return []
        lines = [f"skipped {len(self.skipped)} records with no positive context:"]
        lines += [f"  record {i}: {question!r}" for i, question in self.skipped[:limit]]
        if len(self.skipped) > limit:
            lines.append(f"  ... and {len(self.skipped) - limit} more")
        return lines


def _dpr_record_to_nq(record: Any, where: str) -> dict | None:
    """One DPR biencoder record as an NQ-toy record; None when it has no positive context."""
    _require_record_object(record, where)
    _require_nonempty_str(record.get("question"), "question", where)
    _require_answers(record.get("answers"), where)
    positives = record.get("positive_ctxs")
    if not isinstance(positives, list):
        raise NQFormatError(
            f"{where}: field 'positive_ctxs' must be a list, got {_describe(positives)}"
        )
    if not positives:
        return None
    # DPR lists the best positive first (for NQ, the annotated gold passage): that is the gold.
    gold = positives[0]
    _require_object(gold, "positive_ctxs[0]", where)
    _require_nonempty_str(gold.get("title"), "positive_ctxs[0].title", where)
    _require_nonempty_str(gold.get("text"), "positive_ctxs[0].text", where)
    converted = {
        "question": record["question"],
        "answers": list(record["answers"]),
        "gold_context": {"title": gold["title"], "text": gold["text"]},
    }
    validate_nq_record(converted, where)  # the same rules the loader applies
    return converted


def _check_starts_with_list(f, src: Path) -> None:
    """ijson would happily yield nothing from a JSON object; insist on a top-level list.

    Leaves ``f`` positioned where the JSON starts.
    """
    raw = f.read(4096)
    start = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    f.seek(start)  # ijson (yajl) rejects a byte-order mark, so start after it
    head = raw[start:].lstrip()
    if not head:
        raise NQFormatError(f"{src}: the file is empty (expected a JSON list of DPR records)")
    if not head.startswith(b"["):
        raise NQFormatError(f"{src}: the top level must be a JSON list of DPR records")


def _iter_dpr_records(src: Path) -> Iterable[tuple[int, Any]]:
    """Stream (index, record) from a DPR biencoder file without loading it whole (it is GBs)."""
    import ijson  # optional dependency: pip install ijson (extra "convert")

    n_complete = 0
    with open(src, "rb") as f:
        _check_starts_with_list(f, src)
        try:
            for index, record in enumerate(ijson.items(f, "item", use_float=True)):
                n_complete = index + 1
                yield index, record
        except ijson.JSONError as err:
            # yajl spreads its message over several lines; one line reads better in a traceback.
            reason = " ".join(str(err).split())
            raise NQFormatError(
                f"{src}: not valid JSON after {n_complete} complete records: {reason}"
            ) from err


def convert_dpr_biencoder(
    src_path: str | os.PathLike, dst_path: str | os.PathLike, strict: bool = False
) -> ConversionReport:
    """Convert a DPR biencoder file (e.g. ``biencoder-nq-train.json``) to an NQ-toy file.

    Keeps ``question``, ``answers`` and the first of ``positive_ctxs`` as ``gold_context``.
    Records without a positive context cannot be converted: they are listed in the report's
    ``skipped``, or, with ``strict=True``, raise :class:`NQFormatError`. A malformed input record
    raises, naming the source file and its index. ``dst_path`` is written only on success.
    """
    src, dst = Path(src_path), Path(dst_path)
    if not src.is_file():
        raise NQDataNotFoundError(f"{src}: does not exist")
    report = ConversionReport(src=src, dst=dst)
    converted: list[dict] = []  # ~60k short records: small enough to hold
    for index, record in _iter_dpr_records(src):
        where = f"{src}: record {index}"
        report.n_read += 1
        nq_record = _dpr_record_to_nq(record, where)
        if nq_record is None:
            if strict:
                raise NQFormatError(
                    f"{where}: no positive context (field 'positive_ctxs' is empty)"
                )
            report.skipped.append((index, record["question"]))
            continue
        converted.append(nq_record)
    if not converted:
        raise NQFormatError(f"{src}: no record could be converted ({report.n_read} read)")
    report.n_converted = len(converted)
    _write_json_atomically(converted, dst)
    return report


def _write_json_atomically(records: list[dict], dst: Path) -> None:
    """Write to a temporary file first, so a failure never leaves a half-written dst behind."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(records, f, ensure_ascii=False)
    os.replace(tmp, dst)


# --------------------------------------------------------------------------------------------
# Fetching the original archive (Colab)
# --------------------------------------------------------------------------------------------

def _how_to_get_the_data(dest_dir: Path) -> str:
    return (
        "To get the NQ-toy data another way, do one of these:\n"
        f"  1. Upload {TRAIN_FILE} and {VAL_FILE}. In Colab:\n"
        "         from google.colab import files; files.upload()\n"
        f"     then move them into {dest_dir} (or {COLAB_NQ_DIR}).\n"
        f"  2. Put both files in one folder and set the environment variable {NQ_DIR_ENV}\n"
        "     to that folder,\n"
        f"     e.g. in a notebook: import os; os.environ['{NQ_DIR_ENV}'] = '/path/to/folder'\n"
        "  3. Build them from DPR's published biencoder files (facebookresearch/DPR):\n"
        "         python -m dpr_course.nq convert biencoder-nq-train.json "
        f"{dest_dir / TRAIN_FILE}\n"
        "         python -m dpr_course.nq convert biencoder-nq-dev.json "
        f"{dest_dir / VAL_FILE}"
    )


def _fetch_failed(reason: str, dest_dir: Path) -> NQDataNotFoundError:
    return NQDataNotFoundError(
        f"Could not fetch the NQ-toy data into {dest_dir}: {reason}\n"
        + _how_to_get_the_data(dest_dir)
    )


def _safe_extract_zip(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        root = into.resolve()
        for member in zf.namelist():
            # A hostile archive could name "../../x"; refuse anything that escapes ``into``.
            if not (into / member).resolve().is_relative_to(root):
                raise NQFormatError(f"{archive}: unsafe path in zip archive: {member!r}")
        zf.extractall(into)


def _safe_extract_tar(archive: Path, into: Path) -> None:
    with tarfile.open(archive) as tf:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
            tf.extractall(into, filter="data")
            return
        root = into.resolve()
        for member in tf.getmembers():
            if not (member.isfile() or member.isdir()) or not (
                (into / member.name).resolve().is_relative_to(root)
            ):
                raise NQFormatError(f"{archive}: unsafe entry in tar archive: {member.name!r}")
        tf.extractall(into)


_TRAIN_KEYS = ("train", "nq-train", TRAIN_FILE)
_VAL_KEYS = ("val", "validation", "dev", "nq-val", VAL_FILE)


def _split_plain_json(download: Path, into: Path) -> None:
    """A single JSON download: accept ``{"train": [...], "val": [...]}`` and write both files."""
    raw = download.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip-compressed JSON
        raw = gzip.decompress(raw)
    if raw.lstrip()[:1] == b"<":
        # Drive answers with an HTML page when the quota is exceeded or the file is private.
        raise NQFormatError("Google Drive sent a web page instead of the data (quota or access)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise NQFormatError(f"the download is not a zip, tar or JSON file ({err})") from err
    if not isinstance(data, dict):
        raise NQFormatError(
            f"the download is a single JSON {_describe(data)}, not an archive holding "
            f"{TRAIN_FILE} and {VAL_FILE}"
        )
    train = next((data[k] for k in _TRAIN_KEYS if k in data), None)
    val = next((data[k] for k in _VAL_KEYS if k in data), None)
    if train is None or val is None:
        raise NQFormatError(f"the downloaded JSON has keys {sorted(data)[:10]}, not train and val")
    into.mkdir(parents=True, exist_ok=True)
    _write_json_atomically(train, into / TRAIN_FILE)
    _write_json_atomically(val, into / VAL_FILE)


def _unpack_download(download: Path, into: Path) -> None:
    """Unpack by content, not by name: Drive downloads have whatever name gdown picks."""
    into.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(download):
        _safe_extract_zip(download, into)
    elif tarfile.is_tarfile(download):
        _safe_extract_tar(download, into)
    else:
        _split_plain_json(download, into)


def _find_one(root: Path, name: str) -> Path | None:
    """The shallowest file called ``name`` under ``root`` (macOS resource forks ignored)."""
    hits = [
        p for p in root.rglob(name)
        if p.is_file() and "__MACOSX" not in p.relative_to(root).parts
    ]
    return min(hits, key=lambda p: (len(p.parts), str(p))) if hits else None


def _download_from_drive(file_id: str, output: Path) -> None:
    """gdown into ``output``; any failure becomes one readable reason (raised as NQFormatError)."""
    try:
        import gdown  # only needed in this one place; Colab has it preinstalled
    except ImportError as err:
        raise NQFormatError("the package gdown is not installed (pip install gdown)") from err
    try:  # gdown shows a progress bar with the time left
        result = gdown.download(id=file_id, output=str(output), quiet=False)
    except Exception as err:  # gdown raises many types: network, quota, permission
        raise NQFormatError(f"gdown failed: {type(err).__name__}: {err}") from err
    if result is None or not output.is_file() or output.stat().st_size == 0:
        raise NQFormatError(
            f"gdown could not download Google Drive file {file_id} (no network, quota or access)"
        )


def check_download(path: Path, expected: dict | None = None) -> str:
    """Compare a download with the archive's recorded size and SHA-256; say how it went.
    Raises :class:`NQFormatError` when it differs (a truncated or changed file)."""
    import hashlib

    expected = NQ_TOY_ARCHIVE if expected is None else expected
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    sha256 = digest.hexdigest()
    if expected.get("sha256") is None:
        return (f"Downloaded {size:,} bytes, SHA-256 {sha256}: unchecked, as no checksum of the "
                "archive is recorded yet (dpr_course/nq.py, NQ_TOY_ARCHIVE).")
    if (size, sha256) != (expected["bytes"], expected["sha256"]):
        raise NQFormatError(
            f"the download is not the recorded archive: {size:,} bytes, SHA-256 {sha256}; "
            f"expected {expected['bytes']:,} bytes, SHA-256 {expected['sha256']} (truncated, "
            "or the file on Drive changed)")
    return f"Downloaded {size:,} bytes; size and SHA-256 match the recorded archive."


def fetch_nq_toy(dest_dir: str | os.PathLike, file_id: str = NQ_TOY_DRIVE_ID) -> Path:
    """Download the NQ-toy archive from Google Drive and leave the two files in ``dest_dir``.

    Does nothing if ``dest_dir`` already holds both files. The archive is unpacked by content
    (zip, tar, tar.gz, or a plain JSON with train and val), and the files are found wherever
    they sit inside it. On any failure raises :class:`NQDataNotFoundError` with instructions
    for getting the data another way.
    """
    dest_dir = Path(dest_dir)
    if not missing_nq_files(dest_dir):
        return dest_dir
    dest_dir.mkdir(parents=True, exist_ok=True)
    download = dest_dir / "_nq-toy-download"
    unpacked = dest_dir / "_nq-toy-unpacked"
    print(f"Downloading the NQ-toy data from Google Drive into {dest_dir} (once per runtime) ...",
          flush=True)
    try:
        _download_from_drive(file_id, download)
        print(check_download(download), flush=True)
        _unpack_download(download, unpacked)
        found = {name: _find_one(unpacked, name) for name in NQ_FILES}
        missing = [name for name, path in found.items() if path is None]
        if missing:  # checked before moving anything, so a failure leaves dest_dir as it was
            raise NQFormatError(
                f"the download holds no {' and no '.join(missing)}; "
                f"it holds: {_archive_contents(unpacked)}"
            )
        for name, path in found.items():
            shutil.move(str(path), dest_dir / name)
    except (NQFormatError, OSError, zipfile.BadZipFile, tarfile.TarError) as err:
        raise _fetch_failed(str(err), dest_dir) from err
    finally:
        download.unlink(missing_ok=True)
        shutil.rmtree(unpacked, ignore_errors=True)
    return dest_dir


def _archive_contents(root: Path, limit: int = 10) -> str:
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return _short_list(names, limit) if names else "nothing"


# --------------------------------------------------------------------------------------------
# Finding the data
# --------------------------------------------------------------------------------------------

def _default_download_dir() -> Path:
    """``<repo>/data/nq-toy`` in a source checkout; ``/content/nq-toy`` for a plain pip install
    in Colab (there ``<repo>`` would be site-packages)."""
    if (REPO_ROOT / "pyproject.toml").is_file() or not COLAB_NQ_DIR.parent.is_dir():
        return REPO_NQ_DIR
    return COLAB_NQ_DIR


def find_nq_toy_dir(download: bool = True) -> Path:
    """The folder holding ``nq-train.json`` and ``nq-val.json``; see the module docstring.

    Order: ``$DPR_NQ_DIR`` (an error if it lacks the files), ``<repo>/data/nq-toy``,
    ``/content/nq-toy``, else (when ``download``) :func:`fetch_nq_toy` into the repo folder.
    """
    from_env = os.environ.get(NQ_DIR_ENV, "").strip()
    if from_env:
        folder = Path(from_env).expanduser()
        missing = missing_nq_files(folder)
        if missing:
            # The user asked for this folder explicitly: do not fall back to anything else.
            raise NQDataNotFoundError(
                f"{NQ_DIR_ENV}={from_env}: missing {' and '.join(missing)}; "
                f"the folder holds: {_listing(folder)}"
            )
        return folder
    for folder in (REPO_NQ_DIR, COLAB_NQ_DIR):
        if not missing_nq_files(folder):
            return folder
    dest_dir = _default_download_dir()
    if not download:
        raise NQDataNotFoundError(
            f"No NQ-toy data in {REPO_NQ_DIR} or {COLAB_NQ_DIR}, and {NQ_DIR_ENV} is not set.\n"
            + _how_to_get_the_data(dest_dir)
        )
    return fetch_nq_toy(dest_dir)


def load_nq_toy() -> tuple[list[dict], list[dict]]:
    """(train, val) records of NQ-toy, from wherever :func:`find_nq_toy_dir` finds them."""
    return load_nq_dir(find_nq_toy_dir())


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dpr_course.nq", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("convert", help="convert a DPR biencoder file to NQ-toy")
    convert.add_argument("src", help="e.g. biencoder-nq-train.json")
    convert.add_argument("dst", help="e.g. data/nq-toy/nq-train.json")
    convert.add_argument("--strict", action="store_true",
                         help="fail on a record with no positive context instead of skipping it")
    check = commands.add_parser(
        "check", help="validate a folder holding nq-train.json and nq-val.json"
    )
    check.add_argument("folder")
    args = parser.parse_args(argv)

    try:
        if args.command == "convert":
            report = convert_dpr_biencoder(args.src, args.dst, strict=args.strict)
            print(report.summary())
            for line in report.skipped_lines():
                print(line, file=sys.stderr)
        else:
            train, val = load_nq_dir(args.folder)
            print(f"{args.folder}: {len(train)} train and {len(val)} val records, all valid")
    except (NQFormatError, NQDataNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
