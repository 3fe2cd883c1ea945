"""Every tunable setting, with a named default, loadable from a TOML file.

Settings are flat keys so a config file stays readable:

    publish_long_side = 2048
    identifiable_px = 30
    crowd_min_faces = 10

Lookup order: defaults, then the per-user file (if present), then `--config FILE`
(or the `config=` argument). Unknown keys and wrong types are errors, never
silently ignored: a typo in a privacy setting must not fall back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

import platformdirs

from .detect import DetectorSettings
from .errors import ConfigError
from .loader import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PIXELS, Limits
from .policy import PolicySettings

APP = "imagegate"
_POLICY = PolicySettings()  # the pure policy module owns its defaults


@dataclass(frozen=True)
class Settings:
    # --- identifiability (DESIGN.md §2) ---
    #: platforms downscale photos; identifiability is judged at this long side (px)
    publish_long_side: int = 2048
    #: ...except where a channel shows more: X/Twitter serves photos up to 4096 px, and a web page or a
    #: print shows the file as it is (0 = full resolution). Erring large only makes more faces count.
    publish_long_side_twitter: int = 4096
    publish_long_side_website: int = 0
    publish_long_side_print: int = 0
    #: DORI "Recognition" (125 px/m) on a ~0.24 m face ≈ 30 px face height at publish size
    identifiable_px: float = _POLICY.identifiable_px
    #: below this face height in the *full-resolution* photo an embedding is unreliable;
    #: an identifiable face smaller than this is treated as unknown (fail closed)
    min_match_px: float = 40.0

    # --- matching (thresholds measured in BENCHMARKS.md) ---
    #: distance below which a face is taken to be that person for consent purposes
    match_strict: float = 0.49
    #: distance below which a face is treated as possibly a client (enough to block)
    match_loose: float = 0.60

    # --- crowd rule (rule 4: public events, client among many others) ---
    crowd_min_faces: int = _POLICY.crowd_min_faces
    #: at most this share of the faces may be clients
    crowd_max_client_share: float = _POLICY.crowd_max_client_share
    #: a client is prominent if among this many largest faces...
    crowd_prominent_top: int = _POLICY.crowd_prominent_top
    #: ...and anyone is prominent whose face is at least this many times the median face height
    crowd_prominent_ratio: float = _POLICY.crowd_prominent_ratio

    # --- resource limits (fail closed when hit) ---
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_faces: int = 500

    detector: DetectorSettings = field(default_factory=DetectorSettings)

    def publish_side(self, channel: str | None) -> int | None:
        """The long side (px) photos are shown at on `channel`; None = full resolution."""
        side = getattr(self, f"publish_long_side_{channel}", self.publish_long_side) if channel else \
            self.publish_long_side
        return side or None

    @property
    def limits(self) -> Limits:
        return Limits(max_pixels=self.max_pixels, max_file_bytes=self.max_file_bytes)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "detector"}
        out["detector"] = self.detector.to_dict()
        return out

    def validate(self) -> "Settings":
        problems = []
        if self.publish_long_side < 64:
            problems.append(f"publish_long_side must be >= 64, got {self.publish_long_side}")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("publish_long_side_") and value != 0 and value < 64:
                problems.append(f"{f.name} must be 0 (full resolution) or >= 64, got {value}")
        if self.identifiable_px <= 0:
            problems.append(f"identifiable_px must be > 0, got {self.identifiable_px}")
        if not 0 < self.match_strict <= self.match_loose < 2:
            problems.append(
                f"need 0 < match_strict <= match_loose < 2, got strict={self.match_strict}, loose={self.match_loose}")
        if self.crowd_min_faces < 2:
            problems.append(f"crowd_min_faces must be >= 2, got {self.crowd_min_faces}")
        if not 0 <= self.crowd_max_client_share <= 1:
            problems.append(f"crowd_max_client_share must be in [0, 1], got {self.crowd_max_client_share}")
        for name in ("max_pixels", "max_file_bytes", "max_faces"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0, got {getattr(self, name)}")
        if problems:
            raise ConfigError("invalid settings: " + "; ".join(problems))
        return self


def user_config_path() -> Path:
    override = os.environ.get("IMAGEGATE_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def _coerce(name: str, expected: type, value: Any, origin: str) -> Any:
    if expected is bool:
        if isinstance(value, bool):
            return value
    elif expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif expected is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, expected):
        return value
    raise ConfigError(f"{origin}: setting {name!r} expects {expected.__name__}, found {value!r}")


def _apply(obj, values: Mapping[str, Any], origin: str):
    known = {f.name: f for f in fields(obj)}
    changes = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{origin}: unknown setting {key!r}",
                              hint="see `imagegate config show` for the valid names")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{origin}: [{key}] must be a table")
            changes[key] = _apply(current, value, f"{origin} [{key}]")
        else:
            changes[key] = _coerce(key, type(current), value, origin)
    return replace(obj, **changes)


def load_settings(path: str | os.PathLike | None = None, *, use_user_file: bool = True,
                  overrides: Mapping[str, Any] | None = None) -> Settings:
    """Defaults < per-user config file < `path` < `overrides`."""
    settings = Settings()
    sources = []
    if use_user_file and user_config_path().is_file():
        sources.append(user_config_path())
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist")
        sources.append(p)
    for src in sources:
        try:
            data = tomllib.loads(src.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{src}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{src}: cannot be read: {exc}") from None
        settings = _apply(settings, data, str(src))
    if overrides:
        settings = _apply(settings, overrides, "overrides")
    return settings.validate()


def settings_sources(path: str | os.PathLike | None = None) -> list[str]:
    out = []
    if user_config_path().is_file():
        out.append(str(user_config_path()))
    if path is not None:
        out.append(str(path))
    return out


def to_toml(settings: Settings) -> str:
    """Render effective settings as TOML (the format a config file uses)."""
    lines = []
    for key, value in settings.to_dict().items():
        if key == "detector":
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    lines.append("")
    lines.append("[detector]")
    for key, value in settings.detector.to_dict().items():
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
