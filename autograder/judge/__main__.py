"""``python -m autograder.judge NOTEBOOK SUBMITTED.ipynb``: the verdicts on one notebook, as JSON."""

import sys

from autograder.judge.notebook import main

sys.exit(main())
