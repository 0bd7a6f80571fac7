"""The secret scan finds each token kind, masks it, ignores nbgrader checksums, and the repo is clean.

Fake tokens are assembled at runtime so this file itself holds no token-shaped literal.
"""

import hashlib
import json
import random
import shutil
import string
import subprocess

import pytest

from autograder.commands import secret_scan

_rng = random.Random(0)


def _alnum(n, alphabet=string.ascii_letters + string.digits):
    return "".join(_rng.choices(alphabet, k=n))


UPPER = string.ascii_uppercase + string.digits
AWS_SECRET = _alnum(40)
# (kind, line written to the file, the secret the scanner should report)
CASES = {
    "hugging_face": ("Hugging Face Token", "hf" + "_" + _alnum(34)),
    "github_classic": ("GitHub Token", "gh" + "p_" + _alnum(36)),
    "github_fine_grained": ("GitHub Token", "github" + "_pat_" + _alnum(22) + "_" + _alnum(59)),
    "aws_key_id": ("AWS Access Key", "AK" + "IA" + _alnum(16, UPPER)),
    "aws_session_key_id": ("AWS Access Key", "AS" + "IA" + _alnum(16, UPPER)),
    "slack": ("Slack Token", "xo" + "xb-" + "1234567890-9876543210-" + _alnum(24).lower()),
    "private_key": ("Private Key", "BEGIN RSA " + "PRIVATE KEY"),
    "encrypted_private_key": ("Private Key", "BEGIN ENCRYPTED " + "PRIVATE KEY"),
    "openai_legacy": ("OpenAI Token", "sk-" + _alnum(20) + "T3Blbk" + "FJ" + _alnum(20)),
    "openai_project": ("OpenAI-style sk- Key", "sk-" + "proj-" + _alnum(40) + "7"),
}


def _scan(capsys, *paths):
    code = secret_scan.main([str(p) for p in paths])
    return code, capsys.readouterr()


@pytest.mark.parametrize("name", CASES)
def test_each_token_kind_is_found_and_masked(tmp_path, capsys, name):
    kind, token = CASES[name]
    path = tmp_path / "config.py"
    path.write_text(f"# settings\nTOKEN = \"{token}\"\n")
    code, out = _scan(capsys, tmp_path)
    assert code == 1
    # 3 chars: detect-secrets' GitHub regex captures only the prefix, so "ghp" is all it reports.
    assert f"{path}:2: {kind} ({token[:3]}" in out.out and "…)" in out.out
    assert token not in out.out + out.err


def test_aws_secret_key_next_to_aws_keyword_is_found(tmp_path, capsys):
    (tmp_path / "creds.ini").write_text("aws_secret_access_key = \"" + AWS_SECRET + "\"\n")
    code, out = _scan(capsys, tmp_path)
    assert code == 1 and "creds.ini:1: AWS Access Key" in out.out
    assert AWS_SECRET not in out.out


def test_clean_dir_passes(tmp_path, capsys):
    (tmp_path / "a.py").write_text("import os\ntoken = os.environ['HF_TOKEN']\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "README.md").write_text("Set HF_TOKEN to your hf_... token; sk-learn.\n")
    code, out = _scan(capsys, tmp_path)
    assert code == 0
    assert out.out.strip() == "no token-shaped strings in 2 files"


def _notebook(source, checksum="0" * 32):
    cell = {"cell_type": "code", "execution_count": None, "outputs": [], "source": source,
            "metadata": {"nbgrader": {"grade": False, "grade_id": "encode", "locked": False,
                                      "schema_version": 3, "solution": True,
                                      "checksum": checksum}}}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                      indent=1)


def test_token_in_a_notebook_cell_is_found(tmp_path, capsys):
    hf = CASES["hugging_face"][1]
    source = ["import os\n", f"os.environ['HF_TOKEN'] = \"{hf}\"\n",
              "aws_secret_access_key = \"" + AWS_SECRET + "\"\n"]
    path = tmp_path / "01_encoder.ipynb"
    path.write_text(_notebook(source))
    lines = path.read_text().splitlines()
    hf_line = next(i for i, line in enumerate(lines, 1) if hf in line)
    code, out = _scan(capsys, path)
    assert code == 1
    assert f"{path}:{hf_line}: Hugging Face Token (hf_" in out.out
    # The JSON-escaped quotes around the AWS secret do not hide it.
    assert f"{path}:{hf_line + 1}: AWS Access Key" in out.out


def test_nbgrader_hex_checksums_are_not_flagged(tmp_path, capsys):
    for i in range(20):
        checksum = hashlib.md5(str(i).encode()).hexdigest()
        (tmp_path / f"nb{i}.ipynb").write_text(_notebook(["x = 1\n"], checksum))
    (tmp_path / "hashes.txt").write_text(hashlib.sha256(b"x").hexdigest() + "\n")
    code, out = _scan(capsys, tmp_path)
    assert code == 0, out.out


def test_binary_looking_file_is_scanned(tmp_path, capsys):
    token = CASES["github_classic"][1]
    (tmp_path / "blob.bin").write_bytes(b"\x00\xff\xfe garbage\n" + token.encode() + b"\x00\n")
    code, out = _scan(capsys, tmp_path)
    assert code == 1 and "blob.bin:2: GitHub Token" in out.out


@pytest.mark.skipif(not shutil.which("git"), reason="needs git")
def test_default_listing_takes_untracked_but_not_ignored_files(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text("ignored/\n")
    for rel in ["new.py", "ignored/x.py", ".venv/lib/y.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    names = {p.relative_to(tmp_path).as_posix() for p in secret_scan.repo_files(tmp_path)}
    assert names == {".gitignore", "new.py"}


def test_repository_tree_is_clean(capsys):
    code, out = secret_scan.main([]), capsys.readouterr()
    assert code == 0, "token-shaped strings in the repository:\n" + out.out
