"""Fail if a token-shaped secret (HF, GitHub, AWS, Slack, private key, OpenAI-style) is in the tree.

    python -m autograder.commands.secret_scan [PATHS...]

Default: every file git tracks plus untracked files git does not ignore (so .venv and .git are
skipped). Explicit paths are walked whole, minus .git and .venv. Prints `path:line: kind (mask)`
and never the secret itself; exits 1 on any finding.

The detectors come from detect-secrets (Yelp). We call them line by line ourselves instead of
`detect_secrets.core.scan.scan_file` because scan_file silently skips files that do not decode
as UTF-8 or whose extension looks binary (.bin, .lock, .svg, ...), and its heuristic filters
(e.g. `is_likely_id_string`) can hide a real key. The high-entropy and keyword detectors are
left out: the high-entropy ones flag every nbgrader cell checksum (587 hits on this repo).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.slack import SlackDetector

from autograder.course.paths import COURSE_ROOT

SKIP_DIRS = {".git", ".venv"}


# detect-secrets 1.5.0 has no Hugging Face detector; user/org access tokens are hf_ + 34+ alnum.
class HuggingFaceTokenDetector(RegexBasedDetector):
    secret_type = "Hugging Face Token"
    denylist = (re.compile(r"hf_[A-Za-z0-9]{34,}"),)


# The built-in GitHub detector only knows the classic gh[pousr]_ prefixes.
class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    secret_type = "GitHub Token"
    denylist = (re.compile(r"github_pat_[A-Za-z0-9_]{50,}"),)


# The built-in OpenAI detector only matches legacy keys (with the T3BlbkFJ marker); this one
# also takes sk-proj-/sk-svcacct-/sk-ant-... keys. The required digit keeps long
# hyphenated words starting with "sk-" out.
class GenericSkKeyDetector(RegexBasedDetector):
    secret_type = "OpenAI-style sk- Key"
    denylist = (re.compile(r"\bsk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{32,}"),)


# The built-in list misses PKCS#8 encrypted keys ("\s" so this file does not match itself).
class EncryptedPrivateKeyDetector(RegexBasedDetector):
    secret_type = "Private Key"
    denylist = (re.compile(r"BEGIN ENCRYPTED PRIVATE\sKEY"),)


DETECTORS = [
    AWSKeyDetector(), GitHubTokenDetector(), SlackDetector(), PrivateKeyDetector(),
    OpenAIDetector(), HuggingFaceTokenDetector(), GitHubFineGrainedTokenDetector(),
    GenericSkKeyDetector(), EncryptedPrivateKeyDetector(),
]


def repo_files(root: Path = COURSE_ROOT) -> list[Path]:
    """Tracked plus untracked-but-not-ignored files, as git sees them."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, check=True, capture_output=True).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return walk(root)  # no git or not a checkout (e.g. an unpacked copy): scan everything
    names = sorted(set(filter(None, out.split("\0"))))
    return [root / n for n in names if not SKIP_DIRS & set(Path(n).parts)]


def walk(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    found = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        found += [Path(dirpath) / f for f in sorted(filenames)]
    return found


def mask(secret: str) -> str:
    return secret[:4] + "…"


def scan_file(path: Path) -> list[tuple[int, str, str]]:
    """(line, kind, secret) for each finding. Undecodable bytes are replaced, not skipped:
    tokens are ASCII, so they survive in binary-looking files."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        # Notebooks are JSON: undo \" so quote-anchored patterns (AWS secret key) still match.
        line = line.replace('\\"', '"')
        seen = set()  # a legacy OpenAI key matches two detectors: report it once
        for detector in DETECTORS:
            for secret in sorted(set(detector.analyze_string(line)) - seen):
                seen.add(secret)
                findings.append((number, detector.secret_type, secret))
    return findings


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    files = [f for p in args for f in walk(Path(p))] if args else repo_files()
    # Symlinks hold a path, not content; missing files are deletions not yet staged.
    files = [f for f in files if f.is_file() and not f.is_symlink()]
    hits = 0
    for path in files:
        shown = os.path.relpath(path, COURSE_ROOT) if not args else str(path)
        for number, kind, secret in scan_file(path):
            hits += 1
            print(f"{shown}:{number}: {kind} ({mask(secret)})")
    if hits:
        print(f"{hits} token-shaped string(s) found in {len(files)} files: remove them and "
              "revoke the tokens", file=sys.stderr)
        return 1
    print(f"no token-shaped strings in {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
