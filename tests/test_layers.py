"""The package's layering (docs/ARCHITECTURE.md): data flows one way, and a stage loads only what it needs.

Checked on a fresh interpreter, since this test process has loaded everything already.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "imagegate"
HEAVY = ("cv2", "onnxruntime", "mediapipe", "sqlite3", "_sqlite3", "PIL")


def loaded_after(statement: str) -> list[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def top(names: list[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize("module", ["imagegate.policy", "imagegate.wording", "imagegate.verdict",
                                    "imagegate.results", "imagegate.codes", "imagegate.channels"])
def test_deciding_and_wording_load_no_model_runtime_image_library_or_database(module):
    heavy = top(loaded_after(f"import {module}")) & set(HEAVY)
    assert not heavy, f"import {module} loaded {sorted(heavy)}"


def test_loading_a_photo_loads_nothing_of_matching_policy_or_the_register():
    mods = loaded_after("import imagegate.loader")
    later = [m for m in mods if m in ("imagegate.policy", "imagegate.match", "imagegate.register", "sqlite3")]
    assert not later, later


def test_the_package_itself_loads_its_parts_on_first_use():
    assert "imagegate.gate" not in loaded_after("import imagegate")
    assert "imagegate.gate" in loaded_after("import imagegate\nimagegate.Gate")


def imports_of(path: Path) -> set[str]:
    """The imagegate modules `path` imports at module level (lazy imports inside functions excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out.update([node.module] if node.module else [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("imagegate"):
            out.add(node.module.split(".")[1] if "." in node.module else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("imagegate."))
    return out


def test_the_vocabulary_at_the_bottom_imports_nothing_above_it():
    assert imports_of(PACKAGE / "codes.py") == set()
    assert imports_of(PACKAGE / "results.py") <= {"codes"}


@pytest.mark.parametrize("stage, allowed", [
    ("policy", {"codes", "results", "errors"}),
    ("verdict", {"codes", "results"}),
    ("measure", {"codes", "results"}),
    ("match", {"codes", "results"}),
    ("wording", {"codes", "results", "messages"}),
    ("metadata", {"codes", "results", "errors", "messages"}),
])
def test_a_stage_imports_only_the_layers_below_it(stage, allowed):
    assert imports_of(PACKAGE / f"{stage}.py") <= allowed
