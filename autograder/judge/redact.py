"""The one step every message bound for a student passes: nothing of the grading machine in it.

The judge's verdicts (a test's message, what it printed, a student's exception or returned
string that a check quotes) become the test cells' outputs, and so the feedback pages. Before
they do, :func:`redact` masks

- token-shaped strings (the detectors of ``autograder.tokens``: Hugging Face, GitHub, AWS, Slack,
  OpenAI-style keys, private keys);
- every value of the grading process's own environment long enough to mean something (a
  token, a password, a cluster address, a home directory), and each part of a path list;
- the grading machine's own paths: the course directory, the Python installation, the home
  directory;

and bounds the size. The sandboxed child never holds these values in the first place (its
environment and its root are built from an allow-list); this is the second line.
"""

from __future__ import annotations

import os
import sys

from autograder.course.paths import COURSE_ROOT
from autograder.tokens import patterns as token_patterns

MASK = "[redacted]"
MAX_CHARS = 4000
MIN_VALUE = 8           # shorter environment values ("1", "tiny", "error") are not secrets
# Environment values that name nothing of this machine.
PUBLIC_VALUES = {"/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin",
                 "/usr", "/tmp", "/var/tmp", "C.UTF-8", "en_US.UTF-8", "xterm-256color"}


def _machine_values(environ) -> list[str]:
    """What of this machine a message must not show, longest first (so a path's longer form
    is masked before a prefix of it)."""
    values = {str(COURSE_ROOT), sys.prefix, sys.base_prefix, sys.exec_prefix,
              os.path.expanduser("~")}
    for value in environ.values():
        parts = value.split(os.pathsep) if os.sep in value else [value]
        values.update(part.rstrip("/") for part in parts)
    kept = [v for v in values if v and v not in PUBLIC_VALUES and v != os.sep
            and (len(v) >= MIN_VALUE or (os.sep in v and len(v) > 4))]
    return sorted(kept, key=len, reverse=True)


def redact(text: str, environ=None, limit: int = MAX_CHARS) -> str:
    """``text`` with secrets and the machine's own values masked, at most ``limit`` chars."""
    if not text:
        return text
    for value in _machine_values(os.environ if environ is None else environ):
        text = text.replace(value, MASK)
    for pattern in token_patterns():
        text = pattern.sub(MASK, text)
    if len(text) > limit:
        cut = len(text) - limit
        text = text[:limit] + f"\n... ({cut:,} more characters not shown)"
    return text
