"""BMP files as browsers show them, where Pillow shows something else.

**An alpha channel Pillow drops.** A 16- or 32-bit BMP whose info header has room for an alpha mask
(BITMAPV3INFOHEADER, BITMAPV4HEADER, BITMAPV5HEADER: 56, 108 or 124 bytes). Chromium respects that mask
for BI_BITFIELDS and for plain BI_RGB pixels alike; Pillow reads alpha only from BI_BITFIELDS with one of
its known 32-bit layouts. A file whose colour bytes are black and whose fourth byte holds a face was
black to the gate and a face on a white page in Chromium. Here the alpha is read with the header's mask;
for 32-bit BI_RGB pixels whose header gives no mask, the fourth byte is taken as alpha all the same
(Chromium and Firefox draw such a file opaque; a viewer that does not is not ruled out, and taking it as
alpha costs only renderings that are also checked). As in both browsers, an alpha channel that is all 0
or all 255 means an opaque picture: such a file decodes exactly as before.

The image handed back then carries alpha, and `views.render` checks it like a PNG's: over white, over
black and with the alpha ignored. A 40-byte BITMAPINFOHEADER's fourth byte stays ignored, as both
browsers ignore it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..results import Caution

BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS = 0, 1, 2, 3
#: info headers with an alpha mask at byte 52: BITMAPV3INFOHEADER, BITMAPV4HEADER, BITMAPV5HEADER
_ALPHA_MASK_HEADERS = (56, 108, 124)
#: pixels read at a time when the alpha channel is extracted (bounds the temporary arrays to a few MB)
_BAND_PIXELS = 1 << 20


@dataclass(frozen=True)
class Header:
    """What the file and info headers say about the pixels (Windows V3+ headers only)."""

    header_size: int
    width: int
    rows: int
    top_down: bool
    bpp: int
    compression: int
    colours: int
    #: red, green, blue and alpha masks as the header gives them (0 where it has none)
    masks: tuple[int, int, int, int]
    #: bfOffBits: where the pixels start, 0 when the file does not say
    pixels_at: int


def read_header(data: bytes) -> Header | None:
    """The headers of a BMP with a Windows V3+ info header (40 bytes or more), or None for anything else
    (an OS/2 1.x header, too short a file): Pillow's decoding of those is left alone."""
    if len(data) < 14 + 40 or data[:2] != b"BM":
        return None
    (pixels_at,) = struct.unpack_from("<I", data, 10)
    (size,) = struct.unpack_from("<I", data, 14)
    if size < 40 or len(data) < 14 + size:
        return None
    width, height, _planes, bpp, compression = struct.unpack_from("<iiHHI", data, 18)
    (colours,) = struct.unpack_from("<I", data, 46)
    masks = [0, 0, 0, 0]
    if size >= 52:
        masks[:3] = struct.unpack_from("<III", data, 54)
    if size >= 56:
        masks[3] = struct.unpack_from("<I", data, 66)[0]
    return Header(size, width, abs(height), height < 0, bpp, compression, colours,
                  (masks[0], masks[1], masks[2], masks[3]), pixels_at)


def load(pil: Image.Image, data: bytes, max_pixels: int) -> tuple[Image.Image, list[Caution]]:
    """Load `pil`, a BMP Pillow opened from `data`, and return it as browsers show it: itself (loaded), or
    an image with the alpha channel Pillow drops. Cautions: pictures that could not all be checked.
    `max_pixels`: the loader's limit, already checked against the header."""
    head = read_header(data)
    if head is None or (head.width, head.rows) != pil.size:
        pil.load()  # a layout read differently from Pillow: its decoding stands
        return pil, []
    pil.load()
    mask = _alpha_mask(head) if pil.mode == "RGB" else 0
    alpha = _alpha(data, head, mask) if mask else None
    if alpha is None:
        return pil, []
    out = pil.convert("RGBA")
    out.putalpha(Image.fromarray(alpha, "L"))
    return out, []


# -- alpha in 16- and 32-bit pixels ---------------------------------------------------------------------


def _alpha_mask(head: Header) -> int:
    """The bits of a pixel that browsers (or, for 32-bit BI_RGB, possibly some viewer) take as alpha."""
    if head.header_size not in _ALPHA_MASK_HEADERS or head.bpp not in (16, 32) \
            or head.compression not in (BI_RGB, BI_BITFIELDS):
        return 0
    mask = head.masks[3] & ((1 << head.bpp) - 1)  # Chromium: bits beyond the pixel do not exist
    if not mask and head.bpp == 32 and head.compression == BI_RGB:
        mask = 0xFF000000  # when in doubt, alpha: see the module's docstring
    return mask


def _alpha(data: bytes, head: Header, mask: int) -> np.ndarray | None:
    """The alpha channel (rows top down, 8 bits) that `mask` picks out of the pixels, or None when it is
    all 0 or all 255 (an opaque picture to browsers). Like Firefox, a mask of several runs of bits uses
    its lowest; fewer than 8 bits are scaled up, more are cut to their top 8."""
    shift = (mask & -mask).bit_length() - 1
    bits = 0
    while (mask >> (shift + bits)) & 1:
        bits += 1
    top = (1 << bits) - 1
    stride = (head.width * head.bpp + 31) // 32 * 4
    # where Pillow reads the pixels: the file's offset, or right after the header (no palette at 16/32 bits)
    start = head.pixels_at or 14 + head.header_size
    if start + stride * head.rows > len(data):
        raise OSError("image file is truncated: fewer pixel bytes than the BMP header says")
    dtype = np.dtype("<u4" if head.bpp == 32 else "<u2")
    alpha = np.empty((head.rows, head.width), np.uint8)
    band = max(1, _BAND_PIXELS // max(1, head.width))
    for y0 in range(0, head.rows, band):
        y1 = min(head.rows, y0 + band)
        words = np.frombuffer(data, dtype, (y1 - y0) * stride // dtype.itemsize, start + y0 * stride)
        value = (words.reshape(y1 - y0, -1)[:, :head.width].astype(np.uint32) >> shift) & top
        if bits >= 8:
            value >>= bits - 8
        else:
            value = (value * 255 + top // 2) // top
        alpha[y0:y1] = value
    if not head.top_down:
        alpha = alpha[::-1]
    lowest, highest = int(alpha.min()), int(alpha.max())
    if highest == 0 or lowest == 255:
        return None
    return np.ascontiguousarray(alpha)
