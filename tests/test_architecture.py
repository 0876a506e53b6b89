"""The house rules of the package, checked on its source: imports point one way (no import
circles, no private names taken from another room), custseg's own modules are imported at
the top of a module, and no module or function outgrows what a reader can hold
(docs/architecture.md says why, for the few that may)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "custseg"
MAX_MODULE_LINES = 1000
MAX_FUNCTION_LINES = 80
#: Imports of custseg's own modules that may stay inside functions, by what they bring in:
#: PySpark (the Spark engine is an optional extra) and Matplotlib (the reports' figures) are
#: loaded only when used; the CLI keeps ``--help`` and usage errors fast.
LAZY_TARGETS = ("custseg.engines.spark", "custseg.reporting")
LAZY_IMPORTERS = ("custseg.cli",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    return {_module_name(p): (p, ast.parse(p.read_text(), str(p))) for p in sorted(SRC.rglob("*.py"))}


MODULES = _modules()


def _room(module: str) -> str:
    """``custseg.preparing.clean`` -> ``preparing``; ``custseg.pipeline`` -> ``pipeline``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports(module: str, tree: ast.Module):
    """(target module, imported names, inside a function, line) of each import of custseg."""
    path = MODULES[module][0]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            target, names = None, [alias.name for alias in node.names]
        else:
            continue
        inner, parent = False, parents.get(node)
        while parent is not None:
            inner = inner or isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef))
            parent = parents.get(parent)
        for name in ([target] if target else names):
            if not name.startswith("custseg"):
                continue
            submodules = [f"{name}.{n}" for n in names if f"{name}.{n}" in MODULES] if target else []
            for found in submodules or [name]:
                yield found, names, inner, node.lineno


def _graph() -> dict[str, set[str]]:
    return {m: {t for t, *_ in _imports(m, tree) if t in MODULES and t != m} for m, (_, tree) in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_no_private_name_is_taken_from_another_room():
    taken = [
        f"{module}:{line} takes {name} from {target}"
        for module, (_, tree) in MODULES.items()
        for target, names, _, line in _imports(module, tree)
        for name in names
        if _room(target) != _room(module) and name.startswith("_") and not name.startswith("__")
    ]
    assert taken == []


def test_own_modules_are_imported_at_the_top():
    inside = [
        f"{module}:{line} imports {target} inside a function"
        for module, (_, tree) in MODULES.items()
        for target, _, inner, line in _imports(module, tree)
        if inner and not target.startswith(LAZY_TARGETS) and not module.startswith(LAZY_IMPORTERS)
    ]
    assert inside == []


def test_modules_and_functions_stay_small():
    too_long = []
    for module, (path, tree) in MODULES.items():
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{module}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{module}.{node.name}: {length} lines")
    assert too_long == []


def test_the_checks_see_a_circle_and_a_private_import():
    """The checks themselves can fail: a made-up circle is found."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _room("custseg.preparing.clean") == "preparing" and _room("custseg.pipeline") == "pipeline"
