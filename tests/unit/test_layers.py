"""The dependency direction holds: every import in the tree is checked against the layers (README, Architecture).

* ``inferix`` (SDK, render layer) imports none of ``backend``, ``oracle``, ``worker`` (their plugins reach it
  through entry points);
* ``oracle.angv`` (the algorithm) imports no node: not ``backend``, ``worker``, nor the oracle daemon;
* the backend's coordination and indexer modules never import its API (``backend.api``, ``backend.app``);
* the manager imports ``oracle.angv`` only, never the oracle daemon;
* only the render layer's child and ANGV's placement import ``bpy``; nothing else starts Blender.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:  # relative: resolve against the package
            package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-node.level])
            found.add(f"{package}.{node.module}" if node.module else package)
    return found


def modules(*packages: str) -> dict[str, set[str]]:
    out = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            out[path.relative_to(ROOT).as_posix()] = imports(path)
    return out


def offenders(found: dict[str, set[str]], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{path} imports {name}" for path, names in found.items() for name in sorted(names)
            if name.startswith(forbidden)]


def test_inferix_imports_no_node():
    assert offenders(modules("inferix"), ("backend", "oracle", "worker")) == []


def test_angv_imports_no_node():
    assert offenders(modules("oracle/angv"), ("backend", "worker", "oracle.daemon", "oracle.cli")) == []


def test_backend_coordination_never_imports_the_api():
    found = {p: names for p, names in modules("backend").items()
             if not p.startswith(("backend/api/", "backend/app.py", "backend/cli.py"))}
    assert offenders(found, ("backend.api", "backend.app", "backend.cli", "oracle.daemon", "oracle.cli",
                             "worker")) == []


def test_only_the_render_layer_and_angv_placement_import_bpy():
    found = modules("inferix", "oracle", "backend", "worker", "scripts", "benchmarks")
    users = sorted(p for p, names in found.items() if any(n == "bpy" or n.startswith(("bpy.", "bpy_extras", "mathutils"))
                                                           for n in names))
    allowed = ("inferix/render/", "oracle/angv/insertion.py", "oracle/angv/attacks.py", "oracle/angv/ops.py")
    assert [p for p in users if not p.startswith(allowed)] == []
    assert "oracle/angv/insertion.py" in users  # the scan sees bpy where it is
