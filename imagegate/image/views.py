"""What a viewer may see besides the pixels the gate decodes first.

One file can show different pictures to different viewers: transparent pixels
over a white page or a dark-mode app, a tool that drops the alpha channel, a
colour-managed browser that applies the embedded ICC profile and a viewer that
ignores it. A file can also carry other pictures: the EXIF thumbnail a file
manager shows, MPF images (previews, stereo pairs, HDR gain maps), HEIF
thumbnails and images encoded inside XMP. Each of these that differs materially from the first
rendering is returned as a `View` for the gate to check like the photo itself;
whatever a viewer may see but the gate cannot render is a `Caution`, which keeps
the photo from being allowed.

"Materially": after both pictures are scaled to the same size (long side at most
`COMPARE_SIDE`) and blurred by `BLUR_PX`, some `CELL_PX` x `CELL_PX` cell (at
512 px about the size of the smallest recognisable face at the publish size)
differs by more than `CELL_DIFF` grey levels on average (`EMBEDDED_CELL_DIFF`
for embedded pictures). Measured on the 26 EXIF thumbnails of the evaluation
photos: see `difference`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps

from ..codes import EMBEDDED_KINDS, ReasonCode, ViewKind  # noqa: F401 (EMBEDDED_KINDS re-exported)
from ..results import Caution, View

#: embedded pictures (EXIF thumbnail, MPF images, HEIF thumbnails, XMP images) decoded per file; more make
#: the photo "needs consent" rather than cost unbounded work
MAX_EMBEDDED_IMAGES = 4
COMPARE_SIDE = 512
CELL_PX = 8
BLUR_PX = 1.0
SHIFT_PX = 2
#: renderings of the photo's own pixels: each one checked costs a detector pass at full size
CELL_DIFF = 16.0
#: embedded pictures are small and cheap to check, and a stale thumbnail (the photo before it was
#: cropped or retouched) is the case that matters: only one made from the same pixels is skipped
EMBEDDED_CELL_DIFF = 6.0
#: an ICC profile that moves no colour of this probe by more than this many levels is treated as sRGB
PROFILE_TOLERANCE = 3
#: base64 runs in XMP long enough to hold a picture (a 32 x 32 JPEG is ~1 KB)
_B64_RUN = re.compile(rb"[A-Za-z0-9+/=\r\n\t ]{512,}")
_XMP_STD = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT = b"http://ns.adobe.com/xmp/extension/\x00"
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"RIFF", b"II*\x00", b"MM\x00*")




# -- materiality --------------------------------------------------------------------------------------


class Comparer:
    """Keeps the pictures found so far and tells whether another one differs materially from all.
    Their scaled-down copies are made once per size: a 12-MP rendering is compared several times."""

    def __init__(self, first: np.ndarray) -> None:
        self.kept: list[np.ndarray] = [first]
        self._small: dict[tuple, np.ndarray] = {}

    def new(self, rgb: np.ndarray, limit: float = CELL_DIFF) -> bool:
        """Whether `rgb` differs from every picture kept so far by more than `limit`; if so it is kept."""
        for i, kept in enumerate(self.kept):
            def shrink(size, how, i=i, kept=kept):
                key = (i, size, how)
                if key not in self._small:
                    self._small[key] = _small_grey(kept, size, how)
                return self._small[key]

            if difference(kept, rgb, shrink) <= limit:
                return False
        self.kept.append(rgb)
        return True


def difference(a: np.ndarray, b: np.ndarray, shrink=None) -> float:
    """The largest mean grey-level difference of a `CELL_PX` cell once `a` is scaled onto `b` (at most
    `COMPARE_SIDE` px): stretched to `b`'s shape, or into the part of `b` inside plain bars (a 4:3
    thumbnail of a 3:2 photo is letterboxed). Both are blurred slightly first, so resampling and JPEG
    noise do not count (measured: 1-3 for thumbnails made from the same pixels by cameras, Pillow or
    libheif, letterboxed or not; 5-13 for the evaluation photos' stale thumbnails of other crops and
    edits of the same scene; ~200 for another picture). `shrink(size, how)`, if given, returns `a` scaled
    (a cached copy)."""
    shrink = shrink or (lambda size, how: _small_grey(a, size, how))
    size = _compare_size(b.shape[1], b.shape[0], max(a.shape[:2]))
    gb = _small_grey(b, size)
    box = _inside_bars(gb)
    scores = []
    # a thumbnail is made by averaging (cameras, Pillow) or by sampling (libheif's HEIF thumbnails)
    for how in (cv2.INTER_AREA, cv2.INTER_NEAREST):
        scores.append(_cells(shrink(size, how), gb))
        if box is not None:
            x0, y0, x1, y1 = box
            bars = np.ones(gb.shape, bool)
            bars[y0:y1, x0:x1] = False
            # the bars are compared with their median, not skipped: a face drawn in them still counts
            canvas = np.full_like(gb, np.median(gb[bars]))
            canvas[y0:y1, x0:x1] = shrink((x1 - x0, y1 - y0), how)
            scores.append(_cells(canvas, gb))
        if min(scores) <= EMBEDDED_CELL_DIFF:
            break
    return min(scores)


def _compare_size(width: int, height: int, other_long: int) -> tuple[int, int]:
    long_side = max(width, height)
    side = max(CELL_PX, min(COMPARE_SIDE, long_side, other_long))
    scale = side / long_side
    return max(1, round(width * scale)), max(1, round(height * scale))


def _inside_bars(grey: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box inside plain rows and columns along the edges, if there are any and it is most of it."""
    def span(varied: np.ndarray) -> tuple[int, int]:
        idx = np.flatnonzero(varied)
        return (int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, 0)

    # JPEG ringing makes the rows next to the picture up to ~20 levels uneven; a row of a photo
    # that is this plain is cut off too, which only makes the comparison stricter
    y0, y1 = span(np.ptp(grey, axis=1) > 40)
    x0, x1 = span(np.ptp(grey, axis=0) > 40)
    h, w = grey.shape
    if (x0, y0, x1, y1) == (0, 0, w, h) or (x1 - x0) * (y1 - y0) < 0.5 * w * h:
        return None
    return x0, y0, x1, y1


def _small_grey(rgb: np.ndarray, size: tuple[int, int], how: int = cv2.INTER_AREA) -> np.ndarray:
    small = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=how)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _cells(a: np.ndarray, b: np.ndarray) -> float:
    """The largest cell difference at the best alignment within `SHIFT_PX`: thumbnails are scaled by
    other code (a HEIF thumbnail sat one pixel off its photo), and a shift of a picture this small
    cannot make a different picture match."""
    a = cv2.GaussianBlur(a, (0, 0), BLUR_PX)
    b = cv2.GaussianBlur(b, (0, 0), BLUR_PX)
    h, w = a.shape
    best = float("inf")
    for dy in range(-SHIFT_PX, SHIFT_PX + 1):
        for dx in range(-SHIFT_PX, SHIFT_PX + 1):
            if h - abs(dy) < CELL_PX or w - abs(dx) < CELL_PX:
                continue
            diff = np.abs(a[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
                          - b[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)])
            dh, dw = diff.shape
            cells = cv2.resize(diff, (max(1, dw // CELL_PX), max(1, dh // CELL_PX)), interpolation=cv2.INTER_AREA)
            best = min(best, float(cells.max()))
    return best if best != float("inf") else float(np.abs(a - b).max())


# -- renderings of the file's own pixels ----------------------------------------------------------------


@dataclass
class Rendered:
    rgb: np.ndarray
    views: list[View]
    cautions: list[Caution]
    #: holds the renderings kept so far, for embedded pictures to be compared with
    comparer: Comparer


def render(pil: Image.Image, to_rgb) -> Rendered:
    """The first rendering (opaque over white, embedded profile ignored) and the views that differ
    from it: over black, alpha ignored, colour-managed. `to_rgb` turns an opaque Pillow image into
    the gate's H x W x 3 array. An opaque image without a profile (or with an sRGB one) costs nothing."""
    sources: list[tuple[str, Image.Image]] = [("", pil)]
    cautions: list[Caution] = []
    icc = pil.info.get("icc_profile")
    if icc:
        try:
            managed = colour_managed(pil, bytes(icc))
        except Exception:  # noqa: BLE001 - a profile lcms cannot apply: what a managed viewer shows is unknown
            managed = None
            cautions.append(Caution(ReasonCode.PROFILE_UNAPPLIED))
        if managed is not None:
            sources.append((ViewKind.COLOUR_MANAGED, managed))
    candidates: list[tuple[str, np.ndarray]] = []
    for kind, src in sources:
        for how, rgb in _flatten(src, to_rgb):
            candidates.append((kind or how, rgb))
    first = candidates[0][1]
    comparer = Comparer(first)
    views = [View(ViewKind(kind), rgb) for kind, rgb in candidates[1:] if comparer.new(rgb)]
    return Rendered(first, views, cautions, comparer)


def has_alpha(pil: Image.Image) -> bool:
    return pil.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        "transparency" in pil.info and pil.mode in ("P", "RGB", "L", "1"))


def _flatten(pil: Image.Image, to_rgb) -> list[tuple[str, np.ndarray]]:
    """Over white, over black and with the alpha channel dropped (what tools that ignore transparency
    show); a colour key (tRNS) counts as transparency. An opaque image has one rendering."""
    if not has_alpha(pil):
        return [("", to_rgb(pil))]
    rgba = pil.convert("RGBA")
    out = []
    for how, colour in (("", (255, 255, 255, 255)), (ViewKind.ON_BLACK, (0, 0, 0, 255))):
        base = Image.new("RGBA", rgba.size, colour)
        base.alpha_composite(rgba)
        out.append((how, to_rgb(base.convert("RGB"))))
    out.append((ViewKind.ALPHA_IGNORED, to_rgb(rgba.convert("RGB"))))
    return out


# -- colour management --------------------------------------------------------------------------------


_ASSESSED: dict[str, tuple[str, np.ndarray | None]] = {}


def colour_managed(pil: Image.Image, icc: bytes) -> Image.Image | None:
    """`pil` converted to sRGB through its profile `icc` (alpha kept) as an exact colour-managed viewer
    shows it, or None when the profile cannot make any picture look materially different. Raises when
    the profile cannot be applied."""
    how, lut = _assess(icc)
    if how == "same":
        return None
    colour, alpha = _colour_source(pil, icc)
    if how == "lut" and lut is not None:  # a grey profile: 256 levels, each converted exactly
        out = Image.fromarray(lut[np.asarray(colour)], "RGB")
    elif how == "fast":
        out = _apply(colour, icc, 0)
    else:  # lcms's optimised transform misrenders this profile: every distinct colour converted exactly
        out = _exact_per_colour(colour, icc)
    if alpha is not None:
        out.putalpha(alpha)
    return out


def _assess(icc: bytes) -> tuple[str, np.ndarray | None]:
    """How to apply a profile, decided once per profile from the exact conversion of a probe: every
    level of each channel alone, the grey ramp and a 9 x 9 x 9 grid (for a grey profile: its 256
    levels, which is all of them).

    same: no probe colour moves more than `PROFILE_TOLERANCE` levels (sRGB by another name), or a
          matrix/TRC profile that moves no probe's grey level more than half `CELL_DIFF` (wide-gamut
          profiles such as Display P3 or Adobe RGB: saturation changes, faces do not). A matrix/TRC
          profile maps each channel through its own curve and then linearly, so its ramps bound what
          it does to any colour;
    lut:  a grey profile, applied exactly through its 256-level table;
    fast: lcms's optimised transform agrees with the exact one on the probe;
    exact: it does not (a jagged or scrambling tone curve): applied colour by colour."""
    key = hashlib.sha256(icc).hexdigest()
    if key not in _ASSESSED:
        if len(_ASSESSED) > 64:
            _ASSESSED.clear()
        _ASSESSED[key] = _assess_profile(icc)
    return _ASSESSED[key]


def _assess_profile(icc: bytes) -> tuple[str, np.ndarray | None]:
    tags = _icc_tags(icc)
    if tags is None:
        raise ValueError("not an ICC profile")
    space = icc[16:20]
    if space == b"CMYK":
        return "fast", None  # 4 channels: no exact probe; lcms's own rendering is what most viewers show
    levels = np.arange(256, dtype=np.uint8)
    if space == b"GRAY":
        exact = np.asarray(_apply(Image.fromarray(levels.reshape(1, -1), "L"), icc, ImageCms.Flags.NOOPTIMIZE))
        lut = exact.reshape(256, 3)
        same = np.abs(lut.astype(int) - levels[:, None]).max() <= PROFILE_TOLERANCE
        return ("same", None) if same else ("lut", lut)
    if space != b"RGB ":
        raise ValueError(f"a {space!r} colour profile")
    probe = _rgb_probe()
    img = Image.fromarray(probe.reshape(1, -1, 3), "RGB")
    exact = np.asarray(_apply(img, icc, ImageCms.Flags.NOOPTIMIZE)).reshape(-1, 3).astype(int)
    if np.abs(exact - probe).max() <= PROFILE_TOLERANCE:
        return "same", None
    separable = not any(t[:3] in (b"A2B", b"D2B") for t in tags)
    luma = np.array([0.299, 0.587, 0.114])
    if separable and np.abs((exact - probe) @ luma).max() <= CELL_DIFF / 2:
        return "same", None
    fast = np.asarray(_apply(img, icc, 0)).reshape(-1, 3).astype(int)
    return ("fast" if np.abs(fast - exact).max() <= PROFILE_TOLERANCE else "exact"), None


def _rgb_probe() -> np.ndarray:
    levels = np.arange(256, dtype=np.uint8)
    zero = np.zeros(256, np.uint8)
    grid = np.linspace(0, 255, 9).astype(np.uint8)
    cube = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), axis=-1).reshape(-1, 3)
    ramps = [np.stack(c, axis=-1) for c in ((levels, zero, zero), (zero, levels, zero), (zero, zero, levels),
                                            (levels, levels, levels))]
    return np.concatenate(ramps + [cube])


def _icc_tags(icc: bytes) -> list[bytes] | None:
    if len(icc) < 132 or icc[36:40] != b"acsp":
        return None
    (count,) = struct.unpack(">I", icc[128:132])
    if count > 200 or 132 + 12 * count > len(icc):
        return None
    return [icc[132 + 12 * i:136 + 12 * i] for i in range(count)]


def _colour_source(pil: Image.Image, icc: bytes) -> tuple[Image.Image, Image.Image | None]:
    """The image's colour channels in the mode its profile describes, and its alpha channel."""
    space = icc[16:20]
    alpha = pil.convert("RGBA").getchannel("A") if has_alpha(pil) else None
    if space == b"GRAY" and pil.mode in ("L", "LA", "1", "P", "La"):
        return pil.convert("L"), alpha
    if space == b"CMYK" and pil.mode == "CMYK":
        return pil, alpha
    if space == b"RGB " and pil.mode in ("RGB", "RGBA", "RGBa", "RGBX", "P", "PA", "L", "LA", "1"):
        return pil.convert("RGB"), alpha
    raise ValueError(f"a {space!r} profile on a {pil.mode} image")


def _apply(colour: Image.Image, icc: bytes, flags) -> Image.Image:
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    in_mode = {"L": "L", "CMYK": "CMYK"}.get(colour.mode, "RGB")
    # Browsers apply RGB and grey profiles colorimetrically (lcms's perceptual intent would also
    # rescale the black point: it clipped a tenth of the grey levels of a test profile to black);
    # CMYK profiles perceptually, as lcms and most viewers do by default.
    intent = ImageCms.Intent.PERCEPTUAL if in_mode == "CMYK" else ImageCms.Intent.RELATIVE_COLORIMETRIC
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transform = ImageCms.buildTransform(src, ImageCms.createProfile("sRGB"), in_mode, "RGB",
                                            renderingIntent=intent, flags=flags)
        out = ImageCms.applyTransform(colour, transform)
    assert out is not None  # None only when transforming in place
    return out


def _exact_per_colour(colour: Image.Image, icc: bytes) -> Image.Image:
    rgb = np.asarray(colour.convert("RGB"))
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    present = np.zeros(1 << 24, bool)
    present[packed.ravel()] = True
    colours = np.flatnonzero(present).astype(np.uint32)
    n, width = colours.size, 4096
    probe = np.zeros((-(-n // width) * width, 3), np.uint8)
    probe[:n, 0], probe[:n, 1], probe[:n, 2] = colours >> 16, (colours >> 8) & 255, colours & 255
    done = _apply(Image.fromarray(probe.reshape(-1, width, 3), "RGB"), icc, ImageCms.Flags.NOOPTIMIZE)
    converted = np.asarray(done).reshape(-1, 3)[:n]
    index = np.zeros(1 << 24, np.int32)
    index[colours] = np.arange(n, dtype=np.int32)
    return Image.fromarray(converted[index[packed]], "RGB")


# -- pictures embedded in the file ----------------------------------------------------------------------


@dataclass
class Embedded:
    """Pictures carried inside the file, oriented like the main image, not yet compared."""

    pictures: list[tuple[ViewKind, int, Image.Image]] = field(default_factory=list)
    cautions: list[Caution] = field(default_factory=list)
    #: MPF images (besides the first) that are among `pictures`: frames the gate has looked at
    mpf_checked: int = 0


def embedded(pil: Image.Image, data: bytes | None, orientation: int, load) -> Embedded:
    """The EXIF thumbnail, MPF images, HEIF thumbnails and XMP-encoded pictures of an opened file, at
    most `MAX_EMBEDDED_IMAGES`; `load(bytes or PIL image)` decodes one under the gate's limits and
    raises when it cannot. `data` is None for a caller's PIL image: then only EXIF and XMP are read."""
    found: list[tuple[ViewKind, int, Any]] = []  # (kind, number, bytes or the index of a frame/thumbnail)
    thumb = _exif_thumbnail(pil)
    if thumb:
        found.append((ViewKind.EXIF_THUMBNAIL, 0, thumb))
    n_frames = int(getattr(pil, "n_frames", 1) or 1)
    if pil.format == "MPO" and data is not None:
        found += [(ViewKind.MPF_IMAGE, i + 1, i) for i in range(1, n_frames)]
    if pil.format == "HEIF" and data is not None:
        found += [(ViewKind.HEIF_THUMBNAIL, i + 1, i) for i in range(len(pil.info.get("thumbnails") or ()))]
    for i, blob in enumerate(_xmp_pictures(pil), 1):
        found.append((ViewKind.XMP_IMAGE, i, blob))
    out = Embedded()
    if len(found) > MAX_EMBEDDED_IMAGES:
        out.cautions.append(Caution(ReasonCode.EMBEDDED_OVER_CAP, len(found)))
        found = found[:MAX_EMBEDDED_IMAGES]
    for kind, number, source in found:
        try:
            if kind == ViewKind.MPF_IMAGE and data is not None:
                picture = _mpf_frame(data, source, load)
                out.mpf_checked += 1
            elif kind == ViewKind.HEIF_THUMBNAIL and data is not None:
                picture = _heif_thumbnail(data, source, load)
            else:
                picture = load(source)
        except Exception:  # noqa: BLE001 - a picture a viewer may show but we cannot decode
            out.cautions.append(Caution(ReasonCode.EMBEDDED_UNREADABLE))
            continue
        if kind == ViewKind.EXIF_THUMBNAIL and orientation != 1:
            # the thumbnail is stored like the main image, before its orientation is applied
            picture = _oriented(picture, orientation)
        out.pictures.append((kind, number, picture))
    return out


def _exif_thumbnail(pil: Image.Image) -> bytes | None:
    """The JPEG thumbnail of EXIF IFD1 (JPEGInterchangeFormat), if the file claims one that is there."""
    raw = pil.info.get("exif")
    if not raw:
        return None
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    try:
        exif = Image.Exif()
        exif.load(bytes(tiff))
        ifd1 = exif.get_ifd(-1)  # ExifTags.IFD.IFD1
    except Exception:  # noqa: BLE001 - an EXIF block too broken to locate a thumbnail in
        return None
    offset, length = ifd1.get(0x0201), ifd1.get(0x0202)
    if offset is None and 0x0111 in ifd1:
        return b"uncompressed"  # a TIFF-strip thumbnail: not decoded here, so reported as unreadable
    if not isinstance(offset, int) or not isinstance(length, int) or length <= 0 or offset >= len(tiff):
        return None  # no thumbnail bytes in the file: nothing any viewer could show
    return bytes(tiff[offset:offset + length])


def _mpf_frame(data: bytes, index: int, load) -> Image.Image:
    with Image.open(io.BytesIO(data)) as mpo:
        mpo.seek(index)
        return load(mpo)


def _heif_thumbnail(data: bytes, index: int, load) -> Image.Image:
    import pillow_heif

    heif = pillow_heif.open_heif(io.BytesIO(data))
    image = heif[heif.primary_index]
    thumbnail = image.get_thumbnail(index)
    if thumbnail.size[0] * thumbnail.size[1] > image.size[0] * image.size[1]:
        # the photo passed the pixel limit; a "thumbnail" larger than it is not decoded
        raise ValueError(f"a HEIF thumbnail of {thumbnail.size} on a photo of {image.size}")
    return load(thumbnail.to_pillow())


def _oriented(picture: Image.Image, orientation: int) -> Image.Image:
    exif = Image.Exif()
    exif[0x0112] = orientation
    picture.info["exif"] = exif.tobytes()
    return ImageOps.exif_transpose(picture)


def _xmp_pictures(pil: Image.Image) -> list[bytes]:
    """Pictures base64-encoded in XMP (xmpGImg:image thumbnails, GImage:Data originals, GDepth maps),
    standard and extended XMP."""
    out = []
    for packet in _xmp_packets(pil):
        for run in _B64_RUN.findall(packet):
            compact = re.sub(rb"\s+", b"", run)
            try:
                blob = base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
            except (binascii.Error, ValueError):
                continue
            if blob.startswith(_IMAGE_MAGIC):
                out.append(blob)
    return out


def _xmp_packets(pil: Image.Image) -> list[bytes]:
    packets = []
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = pil.info.get(key)
        if isinstance(value, str):
            value = value.encode("utf-8", "replace")
        if isinstance(value, (bytes, bytearray)):
            packets.append(bytes(value))
    extended: dict[bytes, dict[int, bytes]] = {}
    for marker, payload in getattr(pil, "applist", []) or []:
        if marker != "APP1":
            continue
        if payload.startswith(_XMP_STD) and not packets:
            packets.append(payload[len(_XMP_STD):])
        elif payload.startswith(_XMP_EXT) and len(payload) >= len(_XMP_EXT) + 40:
            head = len(_XMP_EXT)
            guid = payload[head:head + 32]
            (offset,) = struct.unpack(">I", payload[head + 36:head + 40])
            extended.setdefault(guid, {})[offset] = payload[head + 40:]
    for chunks in extended.values():
        packets.append(b"".join(chunks[k] for k in sorted(chunks)))
    return packets
