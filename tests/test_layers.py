"""The package's floor plan (docs/ARCHITECTURE.md): each folder has one job, data flows one way, and a
part imports only what its job needs.

Imports are read from the source (every import, also those inside functions and under TYPE_CHECKING),
and what a module loads is checked on a fresh interpreter, since this test process has loaded everything.
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
#: the vocabulary at the top: imported by every part, importing no part
VOCABULARY = {"codes", "results", "errors", "channels", "filenames", "private"}
FOLDERS = ("image", "vision", "policy", "register", "words", "outputs", "runs", "cli", "web")
#: which parts of imagegate each folder may import (besides the vocabulary and itself)
MAY_IMPORT = {
    "image": set(),
    "vision": set(),
    "policy": set(),
    "words": set(),
    "register": {"words"},
    "outputs": {"words", "image"},
    "runs": {"gate", "config", "redact", "image", "vision", "policy", "register", "words", "outputs"},
    "web": {"gate", "config", "enrol", "redact", "image", "vision", "policy", "register", "words", "outputs", "runs"},
    "cli": {"gate", "config", "enrol", "redact", "image", "vision", "policy", "register", "words", "outputs",
            "runs", "web"},
}


def loaded_after(statement: str) -> list[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def top(names: list[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imagegate_imports(path: Path) -> set[str]:
    """Every imagegate module `path` imports, anywhere in the file, as a dotted name."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "imagegate":
                continue
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)  # `from . import words` names a part
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "imagegate")
    return out


def part_of(module: str) -> str | None:
    """The folder or top-level module a dotted imagegate name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def third_party_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and not node.level:
            out.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
    return out


def modules_in(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_the_top_level_holds_at_most_14_modules_and_the_parts_are_folders():
    top_modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top_modules) <= 14, top_modules
    for folder in FOLDERS:
        assert (PACKAGE / folder / "__init__.py").is_file(), folder


@pytest.mark.parametrize("folder", [f for f in FOLDERS if f in MAY_IMPORT])
def test_a_folder_imports_only_the_parts_its_job_needs(folder):
    allowed = VOCABULARY | MAY_IMPORT[folder] | {folder, None}
    wrong = {f"{p.relative_to(PACKAGE)} imports {m}" for p in modules_in(folder) for m in imagegate_imports(p)
             if part_of(m) not in allowed and m.rsplit(".", 1)[-1] not in VOCABULARY}
    assert not wrong, sorted(wrong)


def test_the_vocabulary_imports_no_part():
    for name in VOCABULARY:
        parts = {part_of(m) for m in imagegate_imports(PACKAGE / f"{name}.py")}
        # errors word themselves through words.messages (a pure table), on demand only
        allowed = VOCABULARY | ({"words"} if name == "errors" else set())
        assert parts - {None} <= allowed, (name, parts)
    assert imagegate_imports(PACKAGE / "codes.py") == set()
    assert {part_of(m) for m in imagegate_imports(PACKAGE / "results.py")} <= {"codes"}


@pytest.mark.parametrize("folder", ["policy", "words", "image", "vision", "outputs", "runs", "cli", "web"])
def test_only_the_register_uses_sqlite3(folder):
    users = [str(p.relative_to(PACKAGE)) for p in modules_in(folder) if "sqlite3" in third_party_imports(p)]
    assert not users


def test_the_top_level_modules_do_not_use_sqlite3_either():
    assert not [p.name for p in PACKAGE.glob("*.py") if "sqlite3" in third_party_imports(p)]


@pytest.mark.slow  # starts a subprocess
@pytest.mark.parametrize("module", ["imagegate.policy", "imagegate.policy.verdict", "imagegate.words",
                                    "imagegate.words.wording", "imagegate.words.messages", "imagegate.results",
                                    "imagegate.codes", "imagegate.channels"])
def test_deciding_and_wording_load_no_model_runtime_image_library_or_database(module):
    heavy = top(loaded_after(f"import {module}")) & set(HEAVY)
    assert not heavy, f"import {module} loaded {sorted(heavy)}"


@pytest.mark.slow  # starts a subprocess
def test_loading_a_photo_loads_nothing_of_matching_policy_or_the_register():
    mods = loaded_after("import imagegate.image.loader")
    later = [m for m in mods if m.startswith(("imagegate.policy", "imagegate.vision.match", "imagegate.register"))
             or m == "sqlite3"]
    assert not later, later


@pytest.mark.slow  # starts a subprocess
def test_the_package_itself_loads_its_parts_on_first_use():
    assert "imagegate.gate" not in loaded_after("import imagegate")
    assert "imagegate.gate" in loaded_after("import imagegate\nimagegate.Gate")


def test_there_is_no_import_cycle_between_parts():
    # a part's imports (its folder, or a top-level module) form a graph that must have no cycle, functions'
    # lazy imports included: a cycle hidden in a function is still a cycle in the design
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        me = part_of(module_name(path)) or "__init__"
        if me in ("__init__", "__main__"):
            continue
        graph.setdefault(me, set()).update(
            p for m in imagegate_imports(path) if (p := part_of(m)) and p != me and p not in ("__init__",))
    # the vocabulary: errors → words.messages on demand is a table lookup, not a dependency on a part
    graph["errors"].discard("words")
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " → ".join([*trail[trail.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_scan_sees_a_forbidden_import():
    # the rules above must be able to fail
    probe = PACKAGE / "policy" / "_probe_for_test.py"
    probe.write_text("from ..register import store\nimport sqlite3\n")
    try:
        assert "imagegate.register.store" in imagegate_imports(probe)
        assert "sqlite3" in third_party_imports(probe)
    finally:
        probe.unlink()
