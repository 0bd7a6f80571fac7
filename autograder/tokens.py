"""Token-shaped secrets (Hugging Face, GitHub, AWS, Slack, OpenAI-style keys, private keys): the
detectors, and a file's findings. The secret scan of the tree (``autograder.commands.secret_scan``)
and the mask on every message bound for a student (``autograder.judge.redact``) both use them.

The detectors come from detect-secrets (Yelp). We call them line by line ourselves instead of
``detect_secrets.core.scan.scan_file`` because scan_file silently skips files that do not decode
as UTF-8 or whose extension looks binary (.bin, .lock, .svg, ...), and its heuristic filters
(e.g. ``is_likely_id_string``) can hide a real key. The high-entropy and keyword detectors are
left out: the high-entropy ones flag every nbgrader cell checksum (587 hits on this repo).
"""

from __future__ import annotations

import re
from pathlib import Path

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.slack import SlackDetector


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



def patterns() -> list[re.Pattern]:
    """Every detector's regular expressions."""
    return [pattern for detector in DETECTORS for pattern in detector.denylist]


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
