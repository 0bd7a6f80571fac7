"""Fail if a token-shaped secret (HF, GitHub, AWS, Slack, private key, OpenAI-style) is in the tree.

    python -m autograder.commands.secret_scan [PATHS...]

Default: every file git tracks plus untracked files git does not ignore (so .venv and .git are
skipped). Explicit paths are walked whole, minus .git and .venv. Prints `path:line: kind (mask)`
and never the secret itself; exits 1 on any finding.

The detectors are ``autograder.tokens``'s.
"""

import os
import subprocess
import sys
from pathlib import Path

from autograder.course.paths import COURSE_ROOT
from autograder.tokens import scan_file

SKIP_DIRS = {".git", ".venv"}


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
