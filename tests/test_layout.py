"""The package layout: which subpackage of src/bayespec may import which.

The layers, bottom to top (a module-level import only goes down this list, or stays inside
its own subpackage):

1. ``bayespec`` (``__init__``: ``__version__`` and the lazy ``fit``/``integrate``),
   ``errors``, ``ids``, ``jitcache``: no other bayespec imports at module level;
2. ``models``: shapes, priors, likelihoods, the Problem, composites, ties (what is fitted);
3. ``config``: FIT.yaml, validated into the configs the rest reads;
4. ``io``: spectrum files and readers, preprocessing, the Zarr stores of fits;
5. ``sampling``: the Numba kernels, the chain backends and chunked driver, checkpoints (written
   through io), batched backends, seeds;
6. ``inference``: fits, free energies, model selection, integration, results, summaries and
   the ``bayespec fit`` / ``bayespec integrate`` runners and writers;
7. ``plots``: figures of fits and integrations;
8. ``api``, then ``cli``: the Python API and the command line;
9. ``workflow``: the Snakemake campaign (imported by the Snakefile and rule scripts only).

Function-level imports may point up (e.g. ``inference.integrate_output`` draws its figure with
``plots``; ``models.likelihood`` takes its seed stream from ``sampling.seeds``): they run on
call, not on import, so they cannot make an import cycle; each such upward import says why in
a comment. Imports under ``if TYPE_CHECKING:`` are annotations only and are not counted as
module-level (``io.store`` annotates with ``inference.result.KFit``).

Checked here from the source with ``ast`` (nothing is imported):

(a) the graph of subpackages (and top-level modules) has no cycle among module-level imports;
(b) no module outside ``workflow/`` imports ``bayespec.workflow``, at any level;
(c) ``models/`` imports nothing from sampling, inference, io, plots or workflow at module level;
(d) every module-level import goes down the layer order above.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "bayespec"

#: the layers, bottom first; a name is a subpackage or a top-level module of bayespec
LAYERS = [("bayespec", "errors", "ids", "jitcache"), ("models",), ("config",), ("io",),
          ("sampling",), ("inference",), ("plots",), ("api",), ("cli",), ("workflow",)]
RANK = {node: i for i, layer in enumerate(LAYERS) for node in layer}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. bayespec.sampling.joint
    target: str  # the imported bayespec module, e.g. bayespec.models.ties
    line: int
    module_level: bool  # runs on import (not inside a function, not under TYPE_CHECKING)


def _modules() -> dict[str, Path]:
    """bayespec module name -> file (a package is its __init__.py)."""
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path) -> list[Import]:
    """Every import of a bayespec module in ``path``, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: list[Import] = []

    def add(target: str, node: ast.stmt, module_level: bool) -> None:
        if target == "bayespec" or target.startswith("bayespec."):
            found.append(Import(name, target, node.lineno, module_level))

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for a in child.names:
                    add(a.name, child, module_level)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                for a in child.names:  # `from pkg import submodule` imports the submodule
                    sub = f"{mod}.{a.name}"
                    add(sub if sub in MODULES else mod, child, module_level)
            inner = module_level
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                inner = False
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:  # annotations only; the else branch runs
                    visit(ast.Module(body=[stmt], type_ignores=[]), False)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), module_level)
                continue
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), True)
    return found


IMPORTS = [imp for name, path in MODULES.items() for imp in _imports(name, path)]


def node(module: str) -> str:
    """The layer-graph node of a module: its subpackage of bayespec, or the top-level module
    (``bayespec`` for the package's own __init__)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "bayespec"


def _where(imp: Import) -> str:
    return f"{MODULES[imp.module].relative_to(PKG.parent)}:{imp.line} imports {imp.target}"


def test_every_module_is_parsed_and_placed_in_a_layer():
    assert len(MODULES) > 40 and len(IMPORTS) > 100
    unplaced = sorted({node(m) for m in MODULES} - set(RANK))
    assert not unplaced, f"add {unplaced} to LAYERS in tests/test_layout.py (and the docstring)"


def test_no_cycle_between_subpackages_at_module_level():
    edges: dict[str, dict[str, Import]] = {}
    for imp in IMPORTS:
        a, b = node(imp.module), node(imp.target)
        if imp.module_level and a != b:
            edges.setdefault(a, {}).setdefault(b, imp)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def dfs(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(edges.get(n, {})):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state and (cycle := dfs(m)) is not None:
                return cycle
        path.pop()
        state[n] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := dfs(start)) is not None:
            steps = [_where(edges[a][b]) for a, b in zip(cycle, cycle[1:])]
            pytest.fail("module-level import cycle " + " -> ".join(cycle) + ":\n  "
                        + "\n  ".join(steps))


def test_only_workflow_imports_workflow():
    bad = [_where(i) for i in IMPORTS
           if node(i.target) == "workflow" and node(i.module) != "workflow"]
    assert not bad, ("library code must not import bayespec.workflow (the campaign is for the "
                     "Snakefile and rule scripts):\n  " + "\n  ".join(bad))


def test_models_are_the_bottom_layer():
    upper = {"sampling", "inference", "io", "plots", "workflow"}
    bad = [_where(i) for i in IMPORTS
           if i.module_level and node(i.module) == "models" and node(i.target) in upper]
    assert not bad, "models/ imports an upper layer at module level:\n  " + "\n  ".join(bad)


def test_module_level_imports_go_down_the_layers():
    bad = [f"{_where(i)} ({node(i.module)} may not import {node(i.target)} at module level)"
           for i in IMPORTS if i.module_level and RANK[node(i.target)] > RANK[node(i.module)]]
    assert not bad, "\n  ".join(["imports against the layer order:", *bad])
