"""The library behind the dense-retrieval course notebooks: profiles, models, data, tests."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
