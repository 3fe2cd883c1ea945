"""Photo metadata: what an input file reveals, and writing files that reveal nothing.

A photo file can say more than its pixels: a GPS position (where a client lives),
the camera's serial number, the owner's name, people tags with face regions
(XMP mwg-rs, Microsoft and Apple people tags, IPTC PersonInImage) and an EXIF
thumbnail that still shows a face after the main image was redacted. Every file
imagegate writes is therefore encoded from pixels alone; only the ICC colour
profile is carried over (colours would shift without it), and the encoded bytes
are inspected before they are written, so a metadata block that a future Pillow
might add on its own is refused rather than published.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .. import private
from ..codes import ReasonCode, Rule, Severity
from ..errors import OutputError
from ..filenames import fit_name
from ..results import Reason

GPS_IFD = 0x8825
# GPSLatitudeRef, GPSLatitude, GPSLongitudeRef, GPSLongitude: a position, not just a version tag
GPS_POSITION_TAGS = (1, 2, 3, 4)

# People tags, found by namespace URI as well as by usual prefix: a writer may pick any prefix.
PEOPLE_MARKERS = {
    "mwg-rs": (b"mwg-rs:Regions", b"http://www.metadataworkinggroup.com/schemas/regions/"),
    "microsoft": (b"MP:RegionInfo", b"MPRI:Regions", b"MPReg:PersonDisplayName",
                  b"http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
                  b"http://ns.microsoft.com/photo/1.2/t/Region#"),
    "apple": (b"apple-fi:", b"http://ns.apple.com/faceinfo/1.0/"),
    "iptc": (b"Iptc4xmpExt:PersonInImage", b"PersonInShown",
             b"http://iptc.org/std/Iptc4xmpExt/2008-02-29/PersonInImage"),
}
XMP_GPS_MARKERS = (b"exif:GPSLatitude", b"exif:GPSLongitude")

# JPEG markers that may appear in a clean file: frame, tables, scan, restart, JFIF, ICC.
_JPEG_ALLOWED = {0xC0, 0xC1, 0xC2, 0xC4, 0xDB, 0xDD, 0xDA, 0xE0}
_PNG_ALLOWED = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"pHYs", b"tRNS"}
FORMATS = {"JPEG": ".jpg", "PNG": ".png"}


@dataclass(frozen=True)
class MetadataSummary:
    """What an input photo's metadata reveals (never the values themselves)."""

    gps: bool = False
    people: tuple[str, ...] = ()  # tag families found: mwg-rs, microsoft, apple, iptc

    def to_dict(self) -> dict:
        return {"gps": self.gps, "people_tags": list(self.people)}


NO_METADATA = MetadataSummary()


def inspect(pil: Image.Image) -> MetadataSummary:
    """Summarise GPS and people tags of an opened (not yet transposed) image.

    A broken metadata block yields what could be read: this feeds a warning only,
    and nothing imagegate writes carries the block anyway.
    """
    blobs = _metadata_blobs(pil)
    gps = _exif_gps(pil) or any(m in b for b in blobs for m in XMP_GPS_MARKERS)
    people = tuple(name for name, markers in PEOPLE_MARKERS.items()
                   if any(m in b for b in blobs for m in markers))
    return MetadataSummary(gps=gps, people=people)


def _exif_gps(pil: Image.Image) -> bool:
    try:
        gps = pil.getexif().get_ifd(GPS_IFD)
    except Exception:  # noqa: BLE001 - malformed EXIF
        return False
    return any(tag in gps for tag in GPS_POSITION_TAGS)


def _metadata_blobs(pil: Image.Image) -> list[bytes]:
    blobs = []
    for key, value in pil.info.items():
        if key == "icc_profile":
            continue
        if isinstance(value, str):
            value = value.encode("utf-8", "replace")
        if isinstance(value, (bytes, bytearray)):
            blobs.append(bytes(value))
    # JPEG: Pillow keeps only the first XMP packet in info; extended XMP and IPTC live in other segments.
    for _marker, payload in getattr(pil, "applist", []) or []:
        blobs.append(bytes(payload))
    return blobs


def reasons(summary: MetadataSummary | None) -> tuple[Reason, ...]:
    """Warning reasons for check: the file itself reveals a place or people. Never changes a decision."""
    if summary is None:
        return ()
    out = []
    if summary.gps:
        out.append(Reason(ReasonCode.METADATA_GPS, Rule.CONSENT_OR_CROWD, Severity.WARNING))
    if summary.people:
        out.append(Reason(ReasonCode.METADATA_PEOPLE, Rule.CONSENT_OR_CROWD, Severity.WARNING,
                          params={"tags": tuple(summary.people)}))
    return tuple(out)


# -- writing --------------------------------------------------------------------------------------------


def rgb_icc(icc: bytes | None) -> bytes | None:
    """The profile if it describes RGB data; a CMYK or grey profile would misdescribe our RGB pixels."""
    if icc and len(icc) >= 20 and icc[16:20] == b"RGB ":
        return bytes(icc)
    return None


def encode(image: Image.Image | np.ndarray, *, format: str = "JPEG", icc_profile: bytes | None = None,
           quality: int = 92) -> bytes:
    """Encode pixels only (plus an RGB ICC profile) and verify the result carries no metadata."""
    if format not in FORMATS:
        raise OutputError(f"cannot write format {format!r}; expected one of {', '.join(FORMATS)}")
    arr = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise OutputError(f"expected an H x W x 3 uint8 image, found shape {arr.shape} dtype {arr.dtype}")
    # A fresh image from the array: nothing of the source's info dict can ride along.
    clean = Image.fromarray(np.ascontiguousarray(arr), "RGB")
    params: dict = {}
    icc = rgb_icc(icc_profile)
    if icc:
        params["icc_profile"] = icc
    if format == "JPEG":
        params.update(quality=quality, subsampling=0 if quality >= 90 else 2, optimize=True)
    buf = io.BytesIO()
    try:
        clean.save(buf, format, **params)
    except Exception as exc:  # noqa: BLE001
        raise OutputError(f"encoding a {format} copy failed: {type(exc).__name__}: {exc}") from None
    data = buf.getvalue()
    found = metadata_blocks(data)
    if found:
        raise OutputError(f"the encoded {format} copy should carry no metadata but holds {', '.join(found)}; "
                          "refusing to write it")
    return data


def metadata_blocks(data: bytes) -> list[str]:
    """Names of the metadata-bearing blocks in an encoded JPEG or PNG (empty = clean)."""
    if data[:2] == b"\xff\xd8":
        return _jpeg_blocks(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return _png_blocks(data)
    return ["unknown container"]


def _jpeg_blocks(data: bytes) -> list[str]:
    found: list[str] = []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return found + ["malformed segment"]
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        payload = data[pos + 4:pos + 2 + length]
        if marker == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"):
            pass
        elif marker not in _JPEG_ALLOWED:
            found.append(f"APP{marker - 0xE0}" if 0xE0 <= marker <= 0xEF else
                         "COM" if marker == 0xFE else f"marker 0x{marker:02X}")
        elif marker == 0xE0 and not payload.startswith(b"JFIF\x00"):
            found.append("APP0")
        if marker == 0xDA:
            break  # entropy-coded data follows; tables for later scans are allowed markers anyway
        pos += 2 + length
    return found


def _png_blocks(data: bytes) -> list[str]:
    found, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind not in _PNG_ALLOWED:
            found.append(kind.decode("latin-1"))
        if kind == b"IEND":
            break
        pos += 12 + length
    return found


def save(image: Image.Image | np.ndarray, path: str | os.PathLike, *, icc_profile: bytes | None = None,
         quality: int = 92) -> Path:
    """Write a clean JPEG/PNG (by suffix) at exactly `path`; an existing file is never overwritten."""
    path = Path(path)
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    try:
        return _write_exclusive(encode(image, format=fmt, icc_profile=icc_profile, quality=quality), path)
    except FileExistsError:
        raise exists_error(path) from None


def exists_error(path: str | os.PathLike) -> OutputError:
    return OutputError(f"{path} already exists; imagegate never overwrites a file",
                       hint="give a new file name, or move the old file away first")


def write_new(data: bytes, directory: str | os.PathLike, filename: str) -> Path:
    """Write already-encoded bytes as `filename` in `directory`, or `stem (2).ext`, ... if taken (each
    fitting in a file name: `fit_name`)."""
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {folder}: {exc.strerror or exc}") from None
    stem, suffix = Path(filename).stem, Path(filename).suffix
    for n in range(1, 10_000):
        path = folder / fit_name(stem, suffix if n == 1 else f" ({n}){suffix}")
        try:
            return _write_exclusive(data, path)
        except FileExistsError:
            continue
    raise OutputError(f"no free file name for {filename} in {folder} (tried 9999)")


def write_whole(data: bytes, path: str | os.PathLike) -> Path:
    """Write `data` as a new private regular file at `path`, all or nothing (a reader never sees half of it).

    An existing file (`check x.jpg --report x.jpg`), link, device or FIFO at `path` is refused, not
    overwritten or written into; see private.write_new_whole.
    """
    path = Path(path)
    try:
        return private.write_new_whole(path, data)
    except FileExistsError:
        raise exists_error(path) from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_exclusive(data: bytes, path: Path) -> Path:
    """A new file, created exclusively (a race with another writer never overwrites: FileExistsError) and
    private: previews show clients' faces labelled with their names. See private.write_new."""
    try:
        return private.write_new(path, data)
    except FileExistsError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
