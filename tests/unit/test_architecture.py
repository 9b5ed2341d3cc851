"""The layering of docs/architecture.md, checked over every module's imports (AST, no runs).

* ``streamproc/core/`` is pure: no Faust, Kafka, aiohttp, network or process import, no
  threads, files or compression (``threading``, ``queue``, ``gzip``, ``os``, ``pathlib``, ...:
  reading files is ``streamproc/csvfiles.py``) and no call of the built-in ``open()``.
  ``io`` stays allowed: the core reads CSV text it is given through ``io.StringIO``, which is
  in-memory text, not I/O. ``pathlib`` is out too: no core function takes or returns a path.
* Faust is imported only in ``streamproc/worker/``; the views in ``streamproc/web/`` import
  neither Faust nor the worker at run time (only for type hints).
* Topics, tables, agents and timers are declared only in ``streamproc/worker/app.py``.
* The runtime (worker, web, kafka) does not import ``streamproc/localkafka/``, the developer's
  local Kafka broker.
* No import circle between our modules, type-only imports (under ``if TYPE_CHECKING``)
  included: a part that needs another's type and is needed by it is one idea split in two
  (give it a protocol instead, as ``worker/cluster.py:ClusterView``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("streamproc", "producers", "bench")
IMPURE = ("faust", "mode", "aiokafka", "kafka", "aiohttp", "rocksdict", "prometheus_client",
          "apprise", "socket", "subprocess", "asyncio", "urllib", "http", "requests", "signal",
          "threading", "queue", "gzip", "bz2", "lzma", "zlib", "shutil", "tempfile", "os",
          "pathlib")


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports(path: Path, module: str, type_only: bool = True) -> set[str]:
    """Modules ``path`` imports (``from a import b`` counts as ``a.b`` when that is a module,
    else as ``a``)."""
    tree = ast.parse(path.read_text())
    skip = set() if type_only else _type_checking_nodes(tree)
    found = set()
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            subs = {f"{base}.{alias.name}" for alias in node.names}
            found.update(subs)
            if not subs <= set(MODULES):  # `from package import module` imports the module
                found.add(base)
    return found


def _type_checking_nodes(tree: ast.AST) -> set[ast.AST]:
    nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                nodes.update(ast.walk(child))
    return nodes


def _top(name: str) -> str:
    return name.split(".")[0]


MODULES = modules()


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("streamproc.core")])
def test_core_is_pure(module: str) -> None:
    bad = sorted(n for n in imports(MODULES[module], module) if _top(n) in IMPURE)
    bad += sorted(n for n in imports(MODULES[module], module)
                  if n.startswith("streamproc.") and not n.startswith("streamproc.core"))
    assert bad == [], f"{module} is in the pure core but imports {bad}"


def open_calls(source: str) -> list[int]:
    """Lines of ``source`` that call the built-in ``open()`` (a file read or written)."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "open"]


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("streamproc.core")])
def test_core_opens_no_file(module: str) -> None:
    lines = open_calls(MODULES[module].read_text())
    assert lines == [], f"{module} is in the pure core but calls open() on lines {lines}"


def test_purity_checks_flag_threads_and_files(tmp_path: Path) -> None:
    """The checks above fail on what they forbid (a check that cannot fail would rot unseen)."""
    snippet = tmp_path / "snippet.py"
    for name in ("threading", "queue", "gzip", "bz2", "lzma", "zlib", "shutil", "tempfile",
                 "os", "pathlib"):
        snippet.write_text(f"import {name}.x\nfrom {name} import y\n")
        found = {_top(n) for n in imports(snippet, "streamproc.core.snippet")}
        assert found & set(IMPURE) == {name}
    assert "io" not in IMPURE  # io.StringIO: in-memory text, allowed (see the docstring)
    assert open_calls("import io\n\ndef f(p):\n    return open(p, 'rb')\n") == [4]
    assert open_calls("import io\nrows = io.StringIO('a,b').read()\nf.open()\n") == []


def test_faust_only_in_the_worker() -> None:
    users = sorted(m for m, p in MODULES.items()
                   if any(_top(n) in ("faust", "mode") for n in imports(p, m))
                   and not m.startswith("streamproc.worker"))
    assert users == []


def test_views_need_no_worker_at_run_time() -> None:
    found = {m: sorted(n for n in imports(p, m, type_only=False)
                       if n.startswith("streamproc.worker") or _top(n) in ("faust", "mode"))
             for m, p in MODULES.items() if m.startswith("streamproc.web")}
    assert {m: n for m, n in found.items() if n} == {}


RUNTIME = ("streamproc.worker", "streamproc.web", "streamproc.kafka")


def test_runtime_does_not_import_the_local_broker() -> None:
    """``streamproc.localkafka`` runs a broker for development and tests; the worker only
    needs a broker's address, wherever that broker runs."""
    users = sorted(m for m, p in MODULES.items() if m.startswith(RUNTIME)
                   and any(n.startswith("streamproc.localkafka") for n in imports(p, m)))
    assert users == []


DECLARATIONS = ("topic", "Table", "GlobalTable", "SetTable", "agent", "timer", "task",
                "crontab", "page", "table_route", "stream")


def _declarations(path: Path) -> list[str]:
    """Calls like ``app.topic(...)``, ``app.Table(...)``, ``@pipeline.app.agent(...)``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in DECLARATIONS
                and ast.unparse(node.func.value).split(".")[-1] == "app"):
            out.append(f"{path.relative_to(ROOT)}:{node.lineno} app.{node.func.attr}")
    return out


def test_topology_is_declared_only_in_worker_app() -> None:
    elsewhere = [d for m, p in MODULES.items() if m != "streamproc.worker.app"
                 for d in _declarations(p)]
    assert elsewhere == []
    assert _declarations(MODULES["streamproc.worker.app"])  # the check sees what it looks for


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        graph[module] = {n for n in imports(path, module) if n in MODULES and n != module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle() -> None:
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


def test_a_type_only_import_counts_as_an_edge(tmp_path: Path) -> None:
    """A circle hidden under ``if TYPE_CHECKING`` is still a circle of ideas: the graph
    sees those imports too."""
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from streamproc.worker.cluster import Cluster\n")
    assert "streamproc.worker.cluster" in imports(source, "x.m")
    assert "streamproc.worker.cluster" not in imports(source, "x.m", type_only=False)


def test_cycle_finder_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_test_module_imports_another() -> None:
    """Shared test helpers live in ``tests/support/`` and fixtures in ``conftest.py``: a test
    module imported by another would run its tests' module-level code twice and hide what
    it shares."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        offenders += [f"{module} imports {name}" for name in imports(path, module)
                      if name.split(".")[-1].startswith("test_") and name.startswith("tests.")]
    assert offenders == []
