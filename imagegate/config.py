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
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from .channels import PUBLISH_CROPS_BY_CHANNEL, PUBLISH_LONG_SIDE, PUBLISH_LONG_SIDE_BY_CHANNEL, Crop
from .errors import ConfigError
from .image.loader import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PIXELS, Limits
from .policy.rules import EVENTS, PolicySettings
from .vision.detect import DetectorSettings

APP = "imagegate"
_POLICY = PolicySettings()  # the pure policy module owns its defaults


@dataclass(frozen=True)
class Settings:
    # --- identifiability (DESIGN.md §2) ---
    #: platforms downscale photos; identifiability is judged at this long side (px), except where a channel
    #: shows more (0 = full resolution), or where it crops a photo into an aspect range and the crop shows a
    #: face larger (Instagram's feed; not a setting); the defaults and why are in imagegate/channels.py
    publish_long_side: int = PUBLISH_LONG_SIDE
    publish_long_side_twitter: int = PUBLISH_LONG_SIDE_BY_CHANNEL["twitter"]
    publish_long_side_website: int = PUBLISH_LONG_SIDE_BY_CHANNEL["website"]
    publish_long_side_print: int = PUBLISH_LONG_SIDE_BY_CHANNEL["print"]
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
    #: a consent allows only a strict match closer than this: the closest degraded face of another person
    #: (a sibling, downscaled or JPEG-compressed) came at 0.478 (BENCHMARKS.md, degraded faces)
    consent_strict: float = _POLICY.consent_strict

    # --- crowd rule (rule 4: public events, client among many others) ---
    crowd_min_faces: int = _POLICY.crowd_min_faces
    #: at most this share of the faces may be clients
    crowd_max_client_share: float = _POLICY.crowd_max_client_share
    #: a client is prominent if among this many largest faces...
    crowd_prominent_top: int = _POLICY.crowd_prominent_top
    #: ...and anyone is prominent whose face is at least this many times the median face height
    crowd_prominent_ratio: float = _POLICY.crowd_prominent_ratio
    #: detections the detector is less sure of than this do not count towards crowd_min_faces
    crowd_face_score: float = _POLICY.crowd_face_score

    #: whether photos are from a public event, which only the person posting knows: public (the crowd
    #: exception), private (none) or unknown (it covers people nobody recognised, not recognised clients)
    event: str = "unknown"

    # --- resource limits (fail closed when hit) ---
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_faces: int = 500

    # --- retention (issue 18): a face template kept this long without review is listed for review ---
    review_months: int = 24

    detector: DetectorSettings = field(default_factory=DetectorSettings)

    def publish_side(self, channel: str | None) -> int | None:
        """The long side (px) photos are shown at on `channel`; None = full resolution."""
        side = getattr(self, f"publish_long_side_{channel}", self.publish_long_side) if channel else \
            self.publish_long_side
        return side or None

    def publish_crops(self, channel: str | None) -> tuple[Crop, ...]:
        """The crops `channel` may show photos in besides fitting them into `publish_side` (imagegate/channels.py;
        none without a channel)."""
        return PUBLISH_CROPS_BY_CHANNEL.get(channel, ()) if channel else ()

    @property
    def limits(self) -> Limits:
        return Limits(max_pixels=self.max_pixels, max_file_bytes=self.max_file_bytes)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "detector"}
        out["detector"] = self.detector.to_dict()
        return out

    def validate(self) -> Settings:
        """Refuse values that are not numbers, and values that would quietly switch the gate off
        (every face "not identifiable", every face "found nowhere", anyone "matching" anyone). The
        bounds are wide; what they stop is a typo or a setting no one could mean."""
        problems = []

        def need(ok: bool, text: str) -> None:
            if not ok:
                problems.append(text)

        detector = ((f"detector.{k}", v) for k, v in self.detector.to_dict().items())
        for name, value in [*self.to_dict().items(), *detector]:
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(f"{name} must be a finite number, got {value}")
        if problems:
            raise ConfigError("invalid settings: " + "; ".join(problems))
        need(self.publish_long_side >= 512, f"publish_long_side must be >= 512, got {self.publish_long_side}")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("publish_long_side_"):
                need(value == 0 or value >= 512, f"{f.name} must be 0 (full resolution) or >= 512, got {value}")
        # DORI: Recognition ~30 px, Identification ~60 px; beyond that faces anyone knows would pass
        need(8 <= self.identifiable_px <= 60, f"identifiable_px must be between 8 and 60, got {self.identifiable_px}")
        need(8 <= self.min_match_px <= 100, f"min_match_px must be between 8 and 100, got {self.min_match_px}")
        # dlib's descriptor: distances of one person lie mostly below 0.5, of two people above 0.6
        # (BENCHMARKS.md section 2); thresholds far from there make clients "unknown" or anyone "anyone"
        need(0.3 <= self.match_strict <= self.match_loose,
             f"need 0.3 <= match_strict <= match_loose, got strict={self.match_strict}, loose={self.match_loose}")
        need(self.match_strict <= 0.6, f"match_strict must be <= 0.6, got {self.match_strict}")
        need(0.3 <= self.consent_strict <= self.match_strict,
             f"need 0.3 <= consent_strict <= match_strict, got {self.consent_strict} and {self.match_strict}")
        need(0.45 <= self.match_loose <= 0.8, f"match_loose must be between 0.45 and 0.8, got {self.match_loose}")
        need(self.crowd_min_faces >= 5,
             f"crowd_min_faces must be >= 5 (a crowd is many people), got {self.crowd_min_faces}")
        need(0 <= self.crowd_max_client_share <= 0.25,
             f"crowd_max_client_share must be in [0, 0.25] (clients few among many), got {self.crowd_max_client_share}")
        need(self.crowd_prominent_top >= 1, f"crowd_prominent_top must be >= 1, got {self.crowd_prominent_top}")
        need(0 < self.crowd_face_score <= 0.8,
             f"crowd_face_score must be in (0, 0.8] (detector scores), got {self.crowd_face_score}")
        need(1 < self.crowd_prominent_ratio <= 10,
             f"crowd_prominent_ratio must be in (1, 10], got {self.crowd_prominent_ratio}")
        need(1 <= self.review_months <= 120, f"review_months must be between 1 and 120, got {self.review_months}")
        need(isinstance(self.event, str) and self.event.strip().lower() in EVENTS,
             f"event must be one of {', '.join(EVENTS)}, got {self.event!r}")
        for name in ("max_pixels", "max_file_bytes", "max_faces"):
            need(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)}")
        d = self.detector
        need(d.analysis_long_side >= 512, f"detector.analysis_long_side must be >= 512, got {d.analysis_long_side}")
        # the defaults are 0.1-0.6; at 0.99 nothing is ever a face
        for name in ("propose_score", "evidence_score", "blazeface_propose_score"):
            need(0 < getattr(d, name) <= 0.6, f"detector.{name} must be in (0, 0.6], got {getattr(d, name)}")
        for name in ("accept_score", "fuse_score", "blazeface_score", "rotated_score", "closeup_score"):
            need(0 < getattr(d, name) <= 0.8, f"detector.{name} must be in (0, 0.8], got {getattr(d, name)}")
        need(d.propose_score <= d.accept_score,
             f"detector.propose_score must be <= accept_score, got {d.propose_score} > {d.accept_score}")
        need(0 < d.min_face_px <= 32, f"detector.min_face_px must be in (0, 32], got {d.min_face_px}")
        need(0 < d.nms_iou < 1, f"detector.nms_iou must be between 0 and 1, got {d.nms_iou}")
        need(d.fuse_views >= 1, f"detector.fuse_views must be >= 1, got {d.fuse_views}")
        # a part of a face is dropped when its second look scores below part_score: children on an adult's
        # cheek scored >= 0.50 with the child 128 px tall there, some below 0.3 at 64 px (BENCHMARKS.md)
        need(0 <= d.part_score <= 0.4, f"detector.part_score must be in [0, 0.4], got {d.part_score}")
        need(d.part_face_px >= 96, f"detector.part_face_px must be >= 96, got {d.part_face_px}")
        need(0 <= d.closeup_min_share <= 0.8,
             f"detector.closeup_min_share must be in [0, 0.8], got {d.closeup_min_share}")
        if problems:
            raise ConfigError("invalid settings: " + "; ".join(problems))
        return self

    def changed(self) -> dict:
        """The settings that differ from the defaults, as `name: value` (detector ones as `detector.x`)."""
        base, mine = Settings().to_dict(), self.to_dict()
        out = {k: v for k, v in mine.items() if k != "detector" and v != base[k]}
        out.update({f"detector.{k}": v for k, v in mine["detector"].items() if v != base["detector"][k]})
        return out


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


#: a settings file for every door (command line, library, watcher, page) when none is named
CONFIG_FILE_ENV = "IMAGEGATE_CONFIG_FILE"


def settings_file(path: str | os.PathLike | None = None) -> Path | None:
    """The settings file a door uses: the one it was given, else IMAGEGATE_CONFIG_FILE, else none (defaults
    and the per-user file). Chosen here for every door, so the library and the command line never judge
    the same photo with different settings."""
    if path is not None:
        return Path(path)
    named = os.environ.get(CONFIG_FILE_ENV)
    return Path(named) if named else None


def load_settings(path: str | os.PathLike | None = None, *, use_user_file: bool = True,
                  overrides: Mapping[str, Any] | None = None) -> Settings:
    """Defaults < per-user config file < `path` (or IMAGEGATE_CONFIG_FILE) < `overrides`."""
    from_env = path is None
    path = settings_file(path)
    settings = Settings()
    sources = []
    named = os.environ.get("IMAGEGATE_CONFIG")
    if use_user_file and named and not Path(named).is_file():
        # named on purpose: a typo must not silently fall back to other settings
        raise ConfigError(f"IMAGEGATE_CONFIG names {named}, which is not a file",
                          hint="fix the path or unset IMAGEGATE_CONFIG")
    if use_user_file and user_config_path().is_file():
        sources.append(user_config_path())
    if path is not None:
        p = Path(path)
        if not p.is_file():
            if from_env:  # named on purpose: a typo must not silently fall back to the defaults
                raise ConfigError(f"{CONFIG_FILE_ENV} names {p}, which is not a file",
                                  hint=f"fix the path or unset {CONFIG_FILE_ENV}")
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
    path = settings_file(path)
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
