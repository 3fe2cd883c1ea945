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

**Pixels a run-length stream skips.** RLE8 and RLE4 streams can skip pixels (end of line, delta, end of
bitmap). Chromium and Firefox leave skipped pixels transparent; Pillow fills them with palette entry 0, or
refuses the file (an end of bitmap before the last row). A portrait whose dark pixels are coded and light
ones skipped was black to the gate and a sharp two-tone face in a browser. Such streams are decoded here
(`_decode_rle`), with alpha 0 where pixels were skipped; a stream coding every pixel the way Pillow
places it decodes exactly as before.

The image handed back then carries alpha, and `views.render` checks it like a PNG's: over white, over
black and with the alpha ignored (skipped pixels then show palette entry 0, as Pillow showed them). A
40-byte BITMAPINFOHEADER's fourth byte stays ignored, as both browsers ignore it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..codes import ReasonCode
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
    an image with the alpha channel Pillow drops or the skipped pixels transparent. Cautions: pictures
    that could not all be checked. `max_pixels`: the loader's limit, already checked against the header.
    Raises on a run-length stream that browsers do not agree on (a `ValueError`) or that ends too soon
    (an `OSError` saying "truncated")."""
    head = read_header(data)
    if head is None or (head.width, head.rows) != pil.size:
        pil.load()  # a layout read differently from Pillow: its decoding stands
        return pil, []
    if head.compression in (BI_RLE8, BI_RLE4):
        return _rle(pil, data, head, max_pixels)
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


# -- run-length coded pixels ----------------------------------------------------------------------------


class IrregularRLE(ValueError):
    """A run-length stream that leaves its row: Chromium refuses such a file, Firefox stops decoding at
    that point and Pillow wraps to the next row, so no one picture is what viewers see."""


def _rle(pil: Image.Image, data: bytes, head: Header, max_pixels: int) -> tuple[Image.Image, list[Caution]]:
    rle4 = head.compression == BI_RLE4
    if head.bpp not in ((1, 4) if rle4 else (1, 4, 8)):
        pil.load()  # a combination browsers refuse (Chromium) or read otherwise: Pillow's decoding stands
        return pil, []
    if head.width * head.rows > max_pixels:  # the loader checked this; the arrays below rely on it
        raise ValueError(f"{head.width} x {head.rows} pixels, above the limit of {max_pixels}")
    start = head.pixels_at or 14 + head.header_size + 4 * _palette_size(head)
    if start < 14 + head.header_size:
        raise ValueError("the BMP's pixels start inside its header")  # both browsers refuse it too
    index, alpha = _decode_rle(data, start, head.width, head.rows, rle4)
    if not head.top_down:
        index, alpha = index[::-1], alpha[::-1]
    try:
        pil.load()
        theirs: Image.Image | None = pil
    except (ValueError, OSError):
        # Pillow refuses streams that end their bitmap before the last row ("not enough image data");
        # they are regular, and decoded above
        theirs = None
    same = theirs is not None and _same_indices(theirs, index)
    every_pixel = int(alpha.min()) == 255
    if same and every_pixel:
        return pil, []  # nothing skipped and read alike: exactly as Pillow decodes it
    # Pillow placed some coded pixel elsewhere (an end of line at the start of a row, a delta from the
    # end of a row, an odd pixel offset): Python tools show another picture than the one checked here
    cautions = [] if same or theirs is None else [Caution(ReasonCode.BMP_DECODERS_DIFFER)]
    out = Image.fromarray(np.ascontiguousarray(index), "P")
    out.putpalette(_palette(data, head, start), "RGB")
    if every_pixel:
        return out, cautions
    rgba = out.convert("RGBA")
    rgba.putalpha(Image.fromarray(np.ascontiguousarray(alpha), "L"))
    return rgba, cautions


def _palette_size(head: Header) -> int:
    """Entries in the colour table: the header's count if it is one the depth allows, else all of them."""
    most = 1 << head.bpp
    return head.colours if 0 < head.colours <= most else most


def _palette(data: bytes, head: Header, start: int) -> bytes:
    """The colour table as 256 RGB triples; entries the file lacks (a table cut short by the pixels or
    the end of the file) and indices past the table are black, as in Chromium."""
    at = 14 + head.header_size
    end = min(at + 4 * _palette_size(head), len(data), max(at, start))
    table = np.zeros((256, 3), np.uint8)
    n = max(0, end - at) // 4
    if n:
        bgrx = np.frombuffer(data, np.uint8, 4 * n, at).reshape(n, 4)
        table[:n] = bgrx[:, 2::-1]
    return table.tobytes()


def _same_indices(pil: Image.Image, index: np.ndarray) -> bool:
    """Whether Pillow's decoding holds the same palette index at every pixel (0 where ours skipped one)."""
    arr = np.asarray(pil)
    if arr.shape != index.shape:
        return False
    if pil.mode in ("P", "L"):  # Pillow makes a grey table's indices an L image: the same bytes
        return bool(np.array_equal(arr, index))
    if pil.mode == "1":
        return bool(np.array_equal(arr, index != 0))
    return False


def _decode_rle(data: bytes, start: int, width: int, rows: int, rle4: bool) -> tuple[np.ndarray, np.ndarray]:
    """The palette indices of the RLE8 / RLE4 stream at `data[start:]` and an alpha channel that is 255
    where it coded a pixel and 0 where it skipped one, rows in file order (bottom up, unless top down).

    The stream is a sequence of two-byte codes, read as Chromium and Firefox both read them (and as
    Windows documents BI_RLE8 and BI_RLE4):

    - (n, c), n > 0: n pixels of index c (RLE4: c's high and low nibble in turn); pixels past the end of
      the row are dropped, as both browsers and Pillow drop them;
    - (0, 0), end of line: the rest of the row is skipped and decoding goes on at the next row's start;
    - (0, 1), end of bitmap: the rest of the picture is skipped;
    - (0, 2) dx dy, delta: dx pixels right and dy rows on are skipped; past the last row it ends the
      picture (Firefox and Pillow; Chromium refuses the file);
    - (0, n), n >= 3, absolute: n indices follow (RLE4: two a byte), padded to an even number of bytes.

    A delta or absolute run that goes past the end of its row raises `IrregularRLE`; a stream that ends
    before its end of bitmap while rows remain raises OSError ("truncated"). Every step reads at least two
    bytes, so the loop ends within len(data) / 2 steps; the two arrays are all it allocates."""
    index = np.zeros((rows, width), np.uint8)
    alpha = np.zeros((rows, width), np.uint8)
    view = memoryview(data)
    end = len(data)
    pos, x, y = start, 0, 0
    while y < rows:
        if pos + 2 > end:
            raise OSError("image file is truncated: the run-length data ends before the last row")
        count, code = view[pos], view[pos + 1]
        pos += 2
        if count:  # encoded run
            stop = min(x + count, width)
            if stop > x:
                if rle4:
                    index[y, x:stop:2] = code >> 4
                    index[y, x + 1:stop:2] = code & 0x0F
                else:
                    index[y, x:stop] = code
                alpha[y, x:stop] = 255
                x = stop
        elif code == 0:  # end of line
            x, y = 0, y + 1
        elif code == 1:  # end of bitmap
            break
        elif code == 2:  # delta
            if pos + 2 > end:
                raise OSError("image file is truncated: the run-length data ends inside a delta")
            dx, dy = view[pos], view[pos + 1]
            pos += 2
            if x + dx > width:
                raise IrregularRLE(f"a run-length delta at byte {pos - 4} moves past the end of its row")
            x, y = x + dx, y + dy
        else:  # absolute run of `code` pixels
            size = (code + 1) // 2 if rle4 else code
            if x + code > width:
                raise IrregularRLE(f"an absolute run at byte {pos - 2} goes past the end of its row")
            if pos + size > end:
                raise OSError("image file is truncated: the run-length data ends inside an absolute run")
            raw = np.frombuffer(data, np.uint8, size, pos)
            if rle4:
                raw = np.stack([raw >> 4, raw & 0x0F], axis=-1).reshape(-1)[:code]
            index[y, x:x + code] = raw
            alpha[y, x:x + code] = 255
            x += code
            pos += size + (size & 1)
    return index, alpha
