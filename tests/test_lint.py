"""The linter is part of the test command: ruff (pyflakes, pycodestyle errors, bugbear) on the
whole tree, with the settings in pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    # not a skip: a suite that passes without its linter would hide what the linter finds
    assert shutil.which("ruff") is not None or subprocess.run(
        [sys.executable, "-m", "ruff", "--version"], capture_output=True).returncode == 0, \
        "ruff is not installed: it comes with the test set-up (bash scripts/setup.sh --test)"
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise",
                           "assistant", "tests", "scripts"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
