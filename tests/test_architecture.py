"""The house rules of the layout, checked (issue #20): folders of about 15 modules, modules of
about 400 lines, a docstring in every package's `__init__`, the import contracts in
pyproject.toml (`lint-imports`), no import cycles between modules, and a README a newcomer
reads in five minutes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "tools", "personas", "speech", "memory")
MAX_MODULES = 15  # per folder, __init__ not counted
MAX_LINES = 420  # "about 400"


def package_dirs() -> list[Path]:
    return sorted({p.parent for top in PACKAGES for p in (ROOT / top).rglob("__init__.py")})


def test_every_folder_holds_at_most_about_15_modules():
    crowded = {str(d.relative_to(ROOT)): n for d in package_dirs()
               if (n := len([p for p in d.glob("*.py") if p.name != "__init__.py"])) > MAX_MODULES}
    assert not crowded, f"folders over {MAX_MODULES} modules: {crowded}"


def test_no_module_is_much_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for top in PACKAGES for p in (ROOT / top).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_every_package_says_what_lives_there():
    import ast

    silent = [str(d.relative_to(ROOT)) for d in package_dirs()
              if not ast.get_docstring(ast.parse((d / "__init__.py").read_text()))]
    assert not silent, f"__init__.py without a docstring: {silent}"


def test_the_import_contracts_hold():
    pytest.importorskip("importlinter", reason="import-linter is not installed (the dev extra)")
    done = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command;"
                           "lint_imports_command()"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_no_module_imports_itself_through_a_cycle():
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (the dev extra)")
    # Imports under `if TYPE_CHECKING:` are not made at run time, so they close no cycle.
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    assert not strongly_connected(imports), "import cycles"


def strongly_connected(imports: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module (iterative: the graph
    has hundreds of modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in imports:
        if root in index:
            continue
        work = [(root, iter(imports[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(imports.get(nxt, ()))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
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


def test_a_cycle_is_found_when_there_is_one():
    # Input tried: a -> b -> c -> a beside d -> a; the check above must be able to fail.
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_the_readme_is_read_in_five_minutes():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines"
