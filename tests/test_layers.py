"""csbench's layers import only downward: the order below is the architecture (docs/ARCHITECTURE.md).

Every import in every module counts, the lazy ones inside functions and the ``TYPE_CHECKING``
ones too: a lazy import still makes the lower module depend on the higher one. A module may
import its own package and anything in a lower layer; two packages of one layer (``dg`` and
``merge``) are peers and import neither each other.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "csbench"

#: Lowest first. An entry is a module or a package (all its modules).
LAYERS: list[list[str]] = [
    ["csbench.errors"],
    ["csbench.io", "csbench.languages", "csbench.progress"],
    ["csbench.gpus", "csbench.metrics", "csbench.hike", "csbench.config", "csbench.hub"],
    ["csbench.study", "csbench.workflow", "csbench.resources"],
    ["csbench.budget"],
    ["csbench.data"],
    ["csbench.models"],
    ["csbench.train"],
    ["csbench.dg", "csbench.merge"],
    ["csbench.evaluate"],
    ["csbench.report", "csbench.checks"],
]


def unit_of(module: str) -> tuple[int, str]:
    """(layer index, entry) of a csbench module."""
    for index, entries in enumerate(LAYERS):
        for entry in entries:
            if module == entry or module.startswith(entry + "."):
                return index, entry
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {Path(__file__).name}")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every csbench import in a file, at any depth."""
    found = []
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return [(line, name) for line, name in found if name == "csbench" or name.startswith("csbench.")]


def upward_imports() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        if source == "csbench":
            continue
        layer, entry = unit_of(source)
        for line, target in imported_modules(path):
            if target == "csbench":
                continue
            target_layer, target_entry = unit_of(target)
            if target_layer > layer or (target_layer == layer and target_entry != entry):
                where = f"{path.relative_to(PACKAGE.parent)}:{line}"
                problems.append(f"{where}: {source} (layer {layer}) imports {target} (layer {target_layer})")
    return problems


def test_every_module_is_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        if module_name(path) != "csbench":
            unit_of(module_name(path))


def test_no_import_runs_up_the_layers() -> None:
    assert upward_imports() == []


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch) -> None:
    """The walk sees a lazy import inside a function (so the test above can fail)."""
    fake = tmp_path / "csbench"
    (fake / "data").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "data" / "__init__.py").write_text("")
    (fake / "data" / "bad.py").write_text("def f():\n    from csbench.report.tables import paper_table\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert upward_imports() == [
        "csbench/data/bad.py:2: csbench.data.bad (layer 5) imports csbench.report.tables (layer 10)"
    ]


def test_every_error_class_is_a_csbench_error_defined_in_errors_py() -> None:
    """One error family: `run_job` catches CsbenchError only, so an error class defined
    anywhere else (or outside the family) would reach the user as a traceback."""
    import csbench.errors

    elsewhere = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            is_error = isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Exception"))
            if is_error and path.name != "errors.py":
                elsewhere.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert elsewhere == []
    defined = [value for value in vars(csbench.errors).values()
               if isinstance(value, type) and issubclass(value, BaseException)]
    assert len(defined) >= 10
    assert all(issubclass(error, csbench.errors.CsbenchError) for error in defined)
