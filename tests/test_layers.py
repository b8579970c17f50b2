"""The folder layout is the architecture (ARCHITECTURE.md): each layer imports only the layers
below it, the import graph has no circle, and the hidden checks use the sandbox's public API
only. Read from the source with ``ast`` (imports inside functions included), nothing imported."""
from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("prunekit", "solutions", "autograder", "assignment", "benchmarks")
# Lowest first, as ARCHITECTURE.md draws them; the shared facts at the top of autograder/
# (manifest, questions, master, results) are read by every layer and import no layer.
LAYERS = ("prunekit", "solutions", "autograder.sandbox", "autograder.probes", "autograder.checks",
          "autograder.core", "autograder.frontends", "assignment", "benchmarks")
SHARED_FACTS = ("autograder.manifest", "autograder.questions", "autograder.master",
                "autograder.results")


def kit_modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the kit's packages (build output left out)."""
    modules = {}
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            if "dist" in parts:
                continue
            name = ".".join(parts).removesuffix(".__init__")
            modules[name] = path
    return modules


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The kit modules ``name`` imports (relative imports resolved)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in modules and target != name}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = kit_modules()
    return {name: {target for target in imported(name, path, modules)
                   if not name.startswith(target + ".")}  # a package's own __init__
            for name, path in modules.items()}


def layer_of(name: str) -> str | None:
    return next((layer for layer in LAYERS if name == layer or name.startswith(layer + ".")),
                None)


def test_each_layer_imports_only_the_layers_below_it():
    """No module imports a layer drawn above its own (the shared facts import no layer)."""
    upward = []
    for name, targets in import_graph().items():
        if name in SHARED_FACTS:
            upward += [(name, t) for t in targets if t not in SHARED_FACTS]
            continue
        own = layer_of(name)
        if own is None:
            continue
        for target in targets:
            layer = layer_of(target)
            if layer is not None and LAYERS.index(layer) > LAYERS.index(own):
                upward.append((name, target))
    assert not upward, upward


def test_the_import_graph_has_no_circle():
    graph = import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                return path + [name, target]
            if target not in state:
                circle = visit(target, path + [name])
                if circle:
                    return circle
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            circle = visit(name, [])
            assert circle is None, " -> ".join(circle)


def test_checks_use_the_sandboxs_public_api_only():
    """The hidden checks import ``autograder.sandbox`` itself, never one of its modules."""
    reaching_in = [(name, target) for name, targets in import_graph().items()
                   if name.startswith("autograder.checks")
                   for target in targets if target.startswith("autograder.sandbox.")]
    assert not reaching_in, reaching_in


def test_the_sandbox_names_no_part_of_the_lab():
    """The generic sandbox imports nothing of the lab (probes, checks, solutions, prunekit):
    what it copies in comes from the manifest."""
    lab = ("autograder.probes", "autograder.checks", "solutions", "prunekit")
    reaching = [(name, target) for name, targets in import_graph().items()
                if name.startswith("autograder.sandbox")
                for target in targets if target.startswith(lab)]
    assert not reaching, reaching
