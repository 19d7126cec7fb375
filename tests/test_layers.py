"""Which way imports go (docs/architecture.md, "Layers, and which way imports go"), checked by
reading every import of the app code with `ast`: at module level, inside functions and under
`if TYPE_CHECKING:`. The test fails on an import cycle or a wrong-way import, naming the file and
line of each import involved.

Imports under `TYPE_CHECKING` count like any other. They do not run, so a cycle through one cannot
break start-up; but a type that names a module above its own layer is still a dependency on that
module, and exempting such imports is how cycles come back unseen. An import inside a function
counts too: it only moves the cycle from import time to call time.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("studio", "jobs", "analysis")
SKIPPED_DIRS = {"migrations", "__pycache__"}

# The layers, lowest first. A module may import its own layer and the layers below it.
PLAIN, MODELS, SERVICES, INTERFACE = 0, 1, 2, 3
LAYER_NAMES = {PLAIN: "plain", MODELS: "models", SERVICES: "services", INTERFACE: "interface"}

# Plain code: numpy/soundfile maths, the clock, the planner. No Django, nothing above it.
# The planner is jobs.schedule or, under its newer name, jobs.planner; each entry must match a
# module, so a rename cannot drop a module from the plain layer unnoticed.
PLAIN_MODULES = (
    "analysis.audio",
    "analysis.intake",
    "jobs.clock",
    "jobs.csv_safe",  # formula-safe text cells for CSV exports
    "jobs.dose",  # sound-dose maths (NIOSH)
    ("jobs.schedule", "jobs.planner"),
    "jobs.demo_audio",  # the demo studio's synthetic songs: numpy only
    "studio.env",  # typed settings readers, used by settings.py before Django is set up
)
# What plain code may import besides the standard library and other plain code.
PLAIN_THIRD_PARTY = {"numpy", "scipy", "soundfile"}

# The interface: what a request or a command enters through, by module name (a `views` package
# and `*_views` modules count), each app's registration with Django (apps.py, which registers its
# tasks), and the project's wiring in studio/ (settings, the Celery app, URLs, WSGI, the login
# view).
INTERFACE_LEAVES = {"views", "urls", "admin", "feeds", "apps"}
PROJECT = "studio"

# `jobs` below its interface never imports these (a write that crosses both apps is a service in
# analysis.services that the interface calls).
ANALYSIS_WRITES = ("analysis.services", "analysis.tasks")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (an app module, or a top-level third-party name)
    path: str  # the importing file, relative to the repository
    line: int
    where: str  # "module level", "inside f()" or "TYPE_CHECKING"

    def __str__(self) -> str:
        return f"{self.path}:{self.line} ({self.where}): {self.target}"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules(root: Path = ROOT) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            if SKIPPED_DIRS.isdisjoint(path.relative_to(root).parts):
                found[_module_name(path, root)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Reader(ast.NodeVisitor):
    """Every import statement with where it sits: module level, a function, TYPE_CHECKING."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, str]] = []
        self._where = ["module level"]

    def _nested(self, node: ast.AST, where: str) -> None:
        self._where.append(where)
        self.generic_visit(node)
        self._where.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._nested(node, f"inside {node.name}()")

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._nested(node, f"inside {node.name}()")

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self._where.append("TYPE_CHECKING")
            for child in node.body:
                self.visit(child)
            self._where.pop()
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self._where[-1]))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self._where[-1]))


def _resolve(name: str, known: set[str]) -> str:
    """The longest known module that `name` is or lies in; else its top-level package."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return parts[0]


def imports_in(source: str, module: str, path: str, known: set[str]) -> list[Import]:
    is_package = path.endswith("__init__.py")
    reader = _Reader()
    reader.visit(ast.parse(source, filename=path))
    out: list[Import] = []
    for node, where in reader.found:
        if isinstance(node, ast.Import):
            targets = [_resolve(alias.name, known) for alias in node.names]
        else:
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base_parts = package[: len(package) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            # `from pkg import mod` imports the module pkg.mod; `from mod import name`, mod.
            targets = [_resolve(f"{base}.{alias.name}", known) for alias in node.names]
        for target in dict.fromkeys(targets):
            if target != module and target != "__future__":
                out.append(Import(module, target, path, node.lineno, where))
    return out


def import_graph(root: Path = ROOT) -> dict[str, list[Import]]:
    modules = app_modules(root)
    known = set(modules)
    return {
        name: imports_in(path.read_text(), name, str(path.relative_to(root)), known)
        for name, path in modules.items()
    }


def _in(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> int:
    for entry in PLAIN_MODULES:
        for prefix in (entry,) if isinstance(entry, str) else entry:
            if _in(module, prefix):
                return PLAIN
    parts = module.split(".")
    leaf = parts[-1]
    if _in(module, PROJECT) or ".management.commands" in module or "views" in parts:
        return INTERFACE
    if leaf in INTERFACE_LEAVES or leaf.endswith("_views"):
        return INTERFACE
    if "models" in parts:
        return MODELS
    return SERVICES


# --- the checks --------------------------------------------------------------------------------

GRAPH = import_graph()
APP_MODULES = set(GRAPH)


def _app_edges() -> Iterator[Import]:
    for imports in GRAPH.values():
        for imp in imports:
            if imp.target in APP_MODULES:
                yield imp


def _fail_on(problems: list[str], title: str) -> None:
    if problems:
        pytest.fail(title + "\n" + "\n".join(f"  {p}" for p in problems), pytrace=False)


def test_every_plain_module_named_exists() -> None:
    missing = []
    for entry in PLAIN_MODULES:
        names = (entry,) if isinstance(entry, str) else entry
        if not any(_in(m, n) for m in APP_MODULES for n in names):
            missing.append(" or ".join(names))
    assert not missing, f"plain-layer entries that match no module: {missing}"


def test_plain_code_imports_no_django_and_nothing_above_it() -> None:
    allowed = set(sys.stdlib_module_names) | PLAIN_THIRD_PARTY
    problems = []
    for module, imports in GRAPH.items():
        if layer_of(module) != PLAIN:
            continue
        for imp in imports:
            if imp.target in APP_MODULES:
                if layer_of(imp.target) != PLAIN:
                    problems.append(f"{imp}: {LAYER_NAMES[layer_of(imp.target)]} code")
            elif imp.target not in allowed:
                problems.append(f"{imp}: not stdlib, numpy, scipy or soundfile")
    _fail_on(problems, "Plain code importing Django or a layer above it:")


def test_no_module_imports_a_layer_above_its_own() -> None:
    problems = [
        f"{imp}: {LAYER_NAMES[layer_of(imp.source)]} imports {LAYER_NAMES[layer_of(imp.target)]}"
        for imp in _app_edges()
        if layer_of(imp.target) > layer_of(imp.source)
    ]
    _fail_on(problems, "Imports that go up a layer:")


def test_jobs_below_its_interface_never_imports_analysis_services_or_tasks() -> None:
    problems = [
        str(imp)
        for imp in _app_edges()
        if _in(imp.source, "jobs")
        and layer_of(imp.source) < INTERFACE
        and any(_in(imp.target, w) for w in ANALYSIS_WRITES)
    ]
    _fail_on(problems, "jobs below its interface importing analysis' services or tasks:")


def _shortest_cycle(edges: dict[str, list[Import]], start: str, within: set[str]) -> list[Import]:
    """Breadth first from start, through `within`, back to start."""
    paths: dict[str, list[Import]] = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for imp in edges.get(node, []):
            if imp.target == start:
                return [*paths[node], imp]
            if imp.target in within and imp.target not in paths:
                paths[imp.target] = [*paths[node], imp]
                queue.append(imp.target)
    raise AssertionError(f"{start} is in no cycle")


def _cycles(edges: dict[str, list[Import]]) -> list[list[Import]]:
    """Cycles covering every module that is in one: the strongly connected groups of modules
    (Tarjan), then a shortest cycle through each member not yet shown."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for imp in edges.get(node, []):
            if imp.target not in index:
                visit(imp.target)
                low[node] = min(low[node], low[imp.target])
            elif imp.target in on_stack:
                low[node] = min(low[node], index[imp.target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)

    cycles = []
    for group in groups:
        members, covered = set(group), set()
        for start in group:  # a cycle through each module of the group, shortest first
            if start in covered:
                continue
            cycle = _shortest_cycle(edges, start, members)
            covered.update(imp.source for imp in cycle)
            cycles.append(cycle)
    return cycles


def test_there_are_no_import_cycles() -> None:
    edges: dict[str, list[Import]] = {m: [] for m in GRAPH}
    for imp in _app_edges():
        edges[imp.source].append(imp)
    cycles = _cycles(edges)
    text = [
        " -> ".join([c[0].source, *(imp.target for imp in c)])
        + "".join(f"\n    {imp}" for imp in c)
        for c in cycles
    ]
    _fail_on(text, "Import cycles:")


# --- the reader itself -------------------------------------------------------------------------


def test_the_reader_sees_imports_in_functions_and_type_checking_blocks(tmp_path: Path) -> None:
    pkg = tmp_path / "jobs"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import b\n"
        "if TYPE_CHECKING:\n"
        "    from jobs.c import Thing\n"
        "def f():\n"
        "    import jobs.d\n"
    )
    for leaf in "bcd":
        (pkg / f"{leaf}.py").write_text("")
    (pkg / "d.py").write_text("def g():\n    from jobs.a import f\n")
    graph = import_graph(tmp_path)
    seen = {(i.target, i.line, i.where) for i in graph["jobs.a"]}
    assert seen == {
        ("typing", 1, "module level"),
        ("jobs.b", 2, "module level"),
        ("jobs.c", 4, "TYPE_CHECKING"),
        ("jobs.d", 6, "inside f()"),
    }
    edges = {m: [i for i in imps if i.target in graph] for m, imps in graph.items()}
    (cycle,) = _cycles(edges)
    assert [(i.source, i.target) for i in cycle] == [("jobs.a", "jobs.d"), ("jobs.d", "jobs.a")]


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("analysis.audio.measure", PLAIN),
        ("jobs.planner", PLAIN),
        ("jobs.dose", PLAIN),
        ("jobs.models", MODELS),
        ("jobs.models.stage", MODELS),
        ("jobs.uploads", SERVICES),
        ("jobs.services.stages", SERVICES),
        ("analysis.selectors", SERVICES),
        ("jobs.views", INTERFACE),
        ("jobs.stage_views", INTERFACE),
        ("jobs.management.commands.seed_demo", INTERFACE),
        ("studio.urls", INTERFACE),
    ],
)
def test_each_module_has_its_layer(module: str, layer: int) -> None:
    assert layer_of(module) == layer
