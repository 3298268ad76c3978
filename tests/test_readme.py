"""The README is part of the interface: its test command is what CI runs, every command it lists
exists, and its links into docs/ resolve; the YAML reference in docs/configuration.md is generated
from the code."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs/configuration.md").read_text()


def test_ci_runs_the_readme_test_command():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    test_cmd = next(line.split("#")[0].strip() for line in block.splitlines() if "pytest" in line)
    assert test_cmd in (ROOT / ".ci/run").read_text()


def test_yaml_reference_is_current():
    out = subprocess.run([sys.executable, str(ROOT / "scripts/config_reference.py")], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() in CONFIGURATION, "run: python scripts/config_reference.py --write"


def test_every_listed_command_exists():
    from assistant.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    listed = set(re.findall(r"^\| `assistant (\w+)", README, re.M))
    assert listed and listed <= set(sub.choices)


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    for title in re.findall(r"^#{1,6} +(.+?) *$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_links_between_readme_and_docs_resolve():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text()):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
    linked = set(re.findall(r"\(docs/(\w+\.md)\)", README))
    assert linked == {p.name for p in (ROOT / "docs").glob("*.md")}, "the README links every docs/ page"
