"""Photo loading: bytes in, an orientation-corrected RGB array out, or one typed error.

EXIF orientation is applied before anything else so every box is in the pixels a
viewer sees. Size limits are checked from the header before pixels are decoded,
so a decompression bomb costs nothing. A truncated file is refused rather than
half-checked: the undecoded part could hold a face.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ..errors import ImageLoadError
from . import bmp
from .metadata import NO_METADATA, MetadataSummary, rgb_icc
from .metadata import inspect as inspect_metadata
from .views import EMBEDDED_CELL_DIFF, Caution, View, has_alpha, render
from .views import embedded as embedded_pictures

try:  # HEIC/HEIF (iPhone photos)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a hard dependency
    pass

ImageInput = str | os.PathLike | bytes | bytearray | memoryview | Image.Image

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif",
     ".heic", ".heif", ".hif", ".avif"}
)
#: camera raw files: TIFF inside, but never what is posted (their JPEG or export is); not walked into
RAW_SUFFIXES = frozenset({".cr2", ".cr3", ".nef", ".nrw", ".arw", ".dng", ".raf", ".orf", ".rw2", ".pef", ".srw"})


def looks_like_image(head: bytes) -> bool:
    """Whether a file's first 32 bytes are those of a format the loader reads. For names that do
    not say so: a Twitter download `photo.jpg_large`, a file saved without an extension."""
    return (head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\0", b"MM\0*"))
            or (head[:2] == b"BM" and len(head) >= 14)
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
            or (head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis",
                                                         b"mif1", b"msf1", b"avif", b"avis")))

DEFAULT_MAX_PIXELS = 120_000_000  # above the 108 MP of today's largest common phone sensors
DEFAULT_MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES


@dataclass(frozen=True)
class LoadedImage:
    """A decoded photo. `rgb` is H x W x 3 uint8 in display orientation."""

    source: str
    rgb: np.ndarray = field(repr=False)
    sha256: str
    format: str | None
    frames: int = 1
    exif_orientation: int = 1
    #: GPS / people tags found in the input file (read before EXIF transpose, which drops EXIF)
    metadata: MetadataSummary = NO_METADATA
    #: the source's ICC profile when it describes RGB, for files written from these pixels
    icc_profile: bytes | None = field(default=None, repr=False)
    #: what viewers may see that differs materially from `rgb` (over black, alpha dropped,
    #: colour-managed, embedded thumbnails and previews): each is checked like the photo
    views: tuple[View, ...] = field(default=(), repr=False)
    #: what viewers may see that could not be rendered: the photo is at best needs consent
    cautions: tuple[Caution, ...] = ()
    #: frames (MPF images) looked at, the first included; `frames` beyond it are unchecked
    frames_checked: int = 1

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def to_dict(self) -> dict:
        return {"file": self.source, "sha256": self.sha256, "format": self.format,
                "width": self.width, "height": self.height, "frames": self.frames}


class SpecialFile(OSError):
    """Not a regular file. A FIFO, device or socket is never read: reading one can block forever
    (a FIFO nobody writes to) or never end (`/dev/zero`)."""

    def __init__(self, path: str | os.PathLike, kind: str) -> None:
        super().__init__(errno.EINVAL, f"expected a regular file, found a {kind}", os.fsdecode(path))
        self.kind = kind


def file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISREG, "regular file"), (stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return kind
    return "special file"


def open_regular(path: str | os.PathLike) -> tuple[int, os.stat_result]:
    """A read-only descriptor of a regular file, and its stat; never blocks. The open itself is
    non-blocking (opening a FIFO without a writer would wait forever), and the descriptor's fstat,
    not the name's, decides: a file swapped for a FIFO after a check of its name is still refused."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SpecialFile(path, file_kind(st.st_mode))
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 of a regular file's bytes, read in blocks (raises OSError if it cannot be read, and
    SpecialFile, an OSError, for a FIFO or device)."""
    h = hashlib.sha256()
    fd, _ = open_regular(path)
    with os.fdopen(fd, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def describe(image: ImageInput) -> str:
    """A human name for an image input, used in messages."""
    if isinstance(image, (str, os.PathLike)):
        return os.fsdecode(image)
    if isinstance(image, Image.Image):
        return getattr(image, "filename", "") or "<PIL image>"
    return "<bytes>"


def load_image(image: ImageInput, limits: Limits = Limits(), *, source: str | None = None) -> LoadedImage:
    """Decode a path, bytes or PIL image into a LoadedImage, or raise ImageLoadError.

    `source`: the name bytes are reported under (the file they were read from)."""
    if isinstance(image, Image.Image):
        return _from_pil(image, describe(image), None, limits, owned=False, data=None)
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        source = source or "<bytes>"
    elif isinstance(image, (str, os.PathLike)):
        source = describe(image)
        data = _read_file(Path(os.fsdecode(image)), source, limits)
    else:
        raise ImageLoadError(repr(type(image).__name__),
                             "expected a file path, bytes or a PIL image")
    if not data:
        raise ImageLoadError.coded("empty", source=source)
    if len(data) > limits.max_file_bytes:
        raise ImageLoadError.coded("file_too_big", source=source, size=len(data), limit=limits.max_file_bytes)
    digest = hashlib.sha256(data).hexdigest()
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check below decides; Pillow's hard error (> ~179 Mpx) still applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)  # e.g. a truncated TIFF's "Corrupt EXIF data"
            pil = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageLoadError.coded("unsupported_format", source=source) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard fired while reading the header: far beyond any real photo.
        raise ImageLoadError.coded("pixel_guard", source=source, limit=limits.max_pixels) from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file, never a crash
        raise ImageLoadError.coded("corrupt", source=source, detail=str(exc)) from None
    return _from_pil(pil, source, digest, limits, data=data)


def _read_file(path: Path, source: str, limits: Limits) -> bytes:
    with reading(source):
        if path.is_dir():
            raise ImageLoadError.coded("folder", source=source)
        fd, st = open_regular(path)
        with os.fdopen(fd, "rb") as fh:
            if st.st_size > limits.max_file_bytes:
                raise ImageLoadError.coded("file_too_big", source=source, size=st.st_size,
                                           limit=limits.max_file_bytes)
            data = fh.read(limits.max_file_bytes + 1)  # bounded even if it grows while being read
    if len(data) > limits.max_file_bytes:
        raise ImageLoadError.coded("file_too_big", source=source, size=len(data), limit=limits.max_file_bytes)
    return data


@contextmanager
def reading(source: str):
    """Inside the block, an OSError reading the photo file becomes the ImageLoadError that says why."""
    try:
        yield
    except SpecialFile as exc:
        if exc.kind == "folder":
            raise ImageLoadError.coded("folder", source=source) from None
        raise ImageLoadError.coded("not_regular", source=source, kind=exc.kind) from None
    except FileNotFoundError:
        raise ImageLoadError.coded("missing", source=source) from None
    except PermissionError:
        raise ImageLoadError.coded("permission", source=source) from None
    except OSError as exc:
        raise ImageLoadError.coded("unreadable", source=source, detail=str(exc.strerror or exc)) from None


def _from_pil(pil: Image.Image, source: str, digest: str | None, limits: Limits, *,
              owned: bool = True, data: bytes | None) -> LoadedImage:
    """`owned`: we opened `pil` ourselves and may change it; a caller's image is only read.
    `data`: the file's bytes (for MPF images), None for a caller's image."""
    width, height = pil.size
    if width <= 0 or height <= 0:
        raise ImageLoadError.coded("no_pixels", source=source, width=width, height=height)
    if width * height > limits.max_pixels:
        raise ImageLoadError.coded("too_many_pixels", source=source, width=width, height=height, pixels=width * height,
                                  limit=limits.max_pixels)
    fmt = pil.format
    with warnings.catch_warnings():
        # "Corrupt EXIF data" and the like: Pillow copes, and users must not see its warnings
        warnings.simplefilter("ignore", UserWarning)
        try:
            # Counting frames walks every frame header (a TIFF's later IFDs): a broken one raises here.
            frames = int(getattr(pil, "n_frames", 1) or 1)
            metadata = inspect_metadata(pil)
        except Exception as exc:  # noqa: BLE001 - found by fuzz/fuzz_loader.py: TypeError from a TIFF IFD
            raise ImageLoadError.coded("corrupt", source=source, detail=str(exc)) from None
        try:
            orientation = int(pil.getexif().get(0x0112, 1) or 1)
        except Exception:  # noqa: BLE001 - a broken EXIF block must not hide the pixels
            orientation = 1
    icc = rgb_icc(pil.info.get("icc_profile"))
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Another library switched Pillow to accept truncated files globally; we must not.
        raise ImageLoadError(source, "Pillow is configured to accept truncated images "
                             "(ImageFile.LOAD_TRUNCATED_IMAGES = True); refusing to check partially")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # size already checked
            warnings.simplefilter("ignore", UserWarning)  # e.g. corrupt EXIF read again by exif_transpose
            pil.seek(0)
            if fmt == "BMP" and data is not None:
                # alpha Pillow drops, pixels an RLE stream skips: the BMP as browsers show it (image/bmp.py)
                pil, bmp_cautions = bmp.load(pil, data, limits.max_pixels)
            else:
                pil.load()
                bmp_cautions = []
            if digest is None:
                digest = hashlib.sha256(pil.tobytes()).hexdigest()
            # before the transpose, which rewrites the EXIF block without its thumbnail
            extra = embedded_pictures(pil, data, orientation, lambda src: _open_embedded(src, limits))
            if owned:
                # in place: a 12 MP photo is 48 MB inside Pillow, and a worker should hold it once
                ImageOps.exif_transpose(pil, in_place=True)
            else:
                pil = ImageOps.exif_transpose(pil)
            rendered = render(pil, _to_rgb)
            views = list(rendered.views)
            for kind, number, picture in extra.pictures:
                rgb = render(picture, _to_rgb).rgb
                if rendered.comparer.new(rgb, EMBEDDED_CELL_DIFF):
                    views.append(View(kind, rgb, number))
    except ImageLoadError:
        raise
    except OSError as exc:
        text = str(exc)
        if "truncated" in text or "broken data stream" in text:
            raise ImageLoadError.coded("truncated", source=source) from None
        raise ImageLoadError.coded("corrupt", source=source, detail=text) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError.coded("bomb", source=source, detail=str(exc)) from None
    except MemoryError:
        raise ImageLoadError.coded("no_memory", source=source) from None
    except Exception as exc:  # noqa: BLE001
        raise ImageLoadError.coded("corrupt", source=source, detail=str(exc)) from None
    return LoadedImage(source=source, rgb=rendered.rgb, sha256=digest, format=fmt, frames=frames,
                       exif_orientation=orientation, metadata=metadata, icc_profile=icc, views=tuple(views),
                       cautions=tuple(rendered.cautions + extra.cautions + bmp_cautions),
                       frames_checked=1 + extra.mpf_checked)


def _open_embedded(source: bytes | Image.Image, limits: Limits) -> Image.Image:
    """An embedded picture (thumbnail, MPF frame, XMP image) decoded under the same limits as the photo
    and turned upright by its own EXIF orientation. Raises on anything a viewer could not show whole."""
    pil = source if isinstance(source, Image.Image) else Image.open(io.BytesIO(source))
    width, height = pil.size
    if width <= 0 or height <= 0 or width * height > limits.max_pixels:
        raise ValueError(f"an embedded picture of {width} x {height} pixels")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pil.load()
        return ImageOps.exif_transpose(pil)


def _to_rgb(pil: Image.Image) -> np.ndarray:
    return _smooth_if_bilevel(_to_rgb_array(pil))


def _smooth_if_bilevel(rgb: np.ndarray) -> np.ndarray:
    """A dithered black-and-white photo (a 1-bit file, or one saved from it) is smoothed the way the
    eye smooths it: the detector sees only dot noise in it, and a recognisable client would pass as
    "no faces found" (measured: Grace Hopper dithered to 1 bit, 0 faces; blurred at sigma 1, 1 face)."""
    sample = rgb[::7, ::7]
    if sample.size == 0:
        return rgb
    black = np.all(sample == 0, axis=-1).mean()
    white = np.all(sample == 255, axis=-1).mean()
    if black + white < 0.97 or min(black, white) < 0.05:
        return rgb
    # Dither alternates pixel by pixel; a thresholded (high-contrast) photo has large even areas and
    # loses faces when blurred. Measured on 12 photos: neighbours differ in 32-65 % of places when
    # dithered, 5-7 % when thresholded.
    rows = rgb[::7, :, 0]
    if rows.shape[1] < 2 or (rows[:, 1:] != rows[:, :-1]).mean() < 0.15:
        return rgb
    import cv2

    return cv2.GaussianBlur(rgb, (0, 0), 1.0)


def _to_rgb_array(pil: Image.Image) -> np.ndarray:
    mode = pil.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(pil, dtype=np.float64)
        # 16-bit greyscale: scale the used range, not a naive clip at 255 (which turns it white)
        top = 65535.0 if arr.max() > 255 else 255.0
        grey = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if mode == "F":
        arr = np.asarray(pil, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        grey = np.zeros(arr.shape, np.uint8) if hi <= lo else ((arr - lo) / (hi - lo) * 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if has_alpha(pil):
        # views.render() flattens transparency before this; any other caller gets it over white too
        rgba = pil.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        base.alpha_composite(rgba)
        return np.asarray(base.convert("RGB"))
    if mode != "RGB":
        pil = pil.convert("RGB")
    return _rgb_array(pil)


#: rows copied out of Pillow at a time (see _rgb_array)
_BAND_ROWS = 512


def _rgb_array(pil: Image.Image) -> np.ndarray:
    """An RGB Pillow image as a writable numpy array, copied in bands of rows.

    np.asarray(pil) goes through one bytes object of the whole image plus the
    chunks it is joined from: ~2x the image in transient memory (~70 MB for a
    12 MP photo), per worker. Bands bound that to a few MB.
    """
    w, h = pil.size
    if h <= _BAND_ROWS:
        return np.array(pil)
    out = np.empty((h, w, 3), np.uint8)
    for y in range(0, h, _BAND_ROWS):
        out[y:y + _BAND_ROWS] = np.asarray(pil.crop((0, y, w, min(h, y + _BAND_ROWS))))
    return out
