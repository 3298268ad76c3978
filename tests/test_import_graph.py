"""Imports go one way, down the layers of docs/architecture.md: no import circle among the
package's modules and no module importing a layer above its own.

Every ``import assistant...`` counts, also those inside functions (a lazy import is still a
dependency); the graph is read from the source with ``ast``, nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"

# The layers, lowest first: a module may import its own layer and the ones below it.
LAYERS: list[set[str]] = [
    {"core"},
    {"audio", "language", "text"},
    {"stt", "llm", "tts", "commands"},  # the stages and what they share
    {"models", "config"},
    {"engine"},
    {"modes"},
    {"cli", "eval", "bench", "__init__", "__main__"},  # the tools around them, and the entry points
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports."""
    modules = _modules()

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(known(a.name) for a in node.names if a.name.startswith("assistant"))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("assistant"):
                for a in node.names:  # `from assistant.core import hub` imports the module assistant.core.hub
                    full = f"{node.module}.{a.name}"
                    targets.add(full if full in modules else known(node.module))
        targets.discard(None)
        targets.discard(name)
        graph[name] = {t for t in targets if t}
    return graph


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"assistant.{top} is in no layer: add it to LAYERS in {Path(__file__).name}")


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_is_read():
    graph = _graph()
    assert "assistant.core.registry" in graph["assistant.config"]
    assert "assistant.core.hub" in graph["assistant.models.resolve"]  # `from assistant.core import hub`
    assert "assistant.core.errors" in graph["assistant.core.registry"]
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles():
    graph = _graph()
    assert _circles(graph) == []
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        top = module.split(".")[1] if "." in module else "__init__"
        packages.setdefault(top, set()).update(t.split(".")[1] for t in targets if "." in t)
    assert _circles({p: t - {p} for p, t in packages.items()}) == []


def test_no_module_imports_a_layer_above_it():
    upward = sorted(f"{m} -> {t}" for m, targets in _graph().items() for t in targets if _layer(t) > _layer(m))
    assert upward == []
