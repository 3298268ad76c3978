"""The README is part of the interface: its test command is what CI runs, its YAML reference is
generated from the code, and every command it lists exists."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    test_cmd = next(line.split("#")[0].strip() for line in block.splitlines() if "pytest" in line)
    assert test_cmd in (ROOT / ".ci/run").read_text()


def test_yaml_reference_is_current():
    out = subprocess.run([sys.executable, str(ROOT / "scripts/config_reference.py")], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() in README, "run: python scripts/config_reference.py --write"


def test_every_listed_command_exists():
    from assistant.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    listed = set(re.findall(r"^\| `assistant (\w+)", README, re.M))
    assert listed and listed <= set(sub.choices)
