"""The package structure holds: no import circle, nothing below `app` imports `app`, and the
infrastructure (`app.jobs`, `app.storage`) imports no domain (the domains register with it).

Imports are read from the source (module level and inside functions; `TYPE_CHECKING` blocks
aside), so a lazy import that closes a circle counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "ingest", "detectors", "evidence")
DOMAINS = (
    "audit",
    "auth",
    "cameras",
    "cases",
    "events",
    "extractions",
    "fleet",
    "footage",
    "identity",
    "retention",
)
INFRASTRUCTURE = ("app.jobs", "app.storage")


def _modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        typing_only = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            targets |= {t for t in map(resolve, names) if t and t != name}
        edges[name] = targets
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


EDGES = _imports(_modules())


def test_no_import_circle() -> None:
    assert _cycles(EDGES) == []


def test_the_checker_sees_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_below_app_imports_app() -> None:
    wrong = [
        f"{m} -> {t}"
        for m, targets in EDGES.items()
        for t in targets
        if not m.startswith("app") and t.startswith("app")
    ]
    assert wrong == []


def test_infrastructure_imports_no_domain() -> None:
    wrong = [
        f"{m} -> {t}"
        for m, targets in EDGES.items()
        if m.startswith(INFRASTRUCTURE)
        for t in targets
        if t.split(".")[:2] in [["app", d] for d in DOMAINS]
    ]
    assert wrong == []
