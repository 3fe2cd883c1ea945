"""Files that show viewers a face the first decoding of their pixels does not: generated from
sample_images/grace_hopper.jpg (a real face) with hand-made PNG chunks, ICC profiles and EXIF/MPF/XMP
blocks."""

from __future__ import annotations

import base64
import io
import struct

import numpy as np
from PIL import Image

from ..conftest import SAMPLES
from ..publish_helpers import _ifd

HOPPER = SAMPLES / "grace_hopper.jpg"
COFFEE = SAMPLES / "coffee.png"


def hopper_grey() -> np.ndarray:
    return np.asarray(Image.open(HOPPER).convert("L"))


def png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=kw.pop("quality", 90), **kw)
    return buf.getvalue()


# -- transparency ---------------------------------------------------------------------------------------


def face_in_alpha(level: int) -> bytes:
    """Every pixel the same colour `level`; only the alpha channel holds the face. Over mid grey the
    picture is flat; over white or black the face appears."""
    grey = hopper_grey()
    rgba = np.zeros(grey.shape + (4,), np.uint8)
    rgba[..., :3] = level
    rgba[..., 3] = 255 - grey if level == 0 else grey
    return png(Image.fromarray(rgba, "RGBA"))


def face_under_transparent_pixels() -> bytes:
    """The face in the colour channels, fully transparent: a tool that drops alpha shows it."""
    rgba = np.asarray(Image.open(HOPPER).convert("RGBA")).copy()
    rgba[..., 3] = 0
    return png(Image.fromarray(rgba, "RGBA"))


def face_in_colour_key(key: int = 128) -> bytes:
    """An RGB PNG whose tRNS colour key holds the face: the dark half of the face is the key colour
    (transparent), the light half one level off it. Decoded without the key it is flat grey."""
    grey = hopper_grey()
    rgb = np.full(grey.shape + (3,), key + 1, np.uint8)
    rgb[grey < np.median(grey)] = key
    return png(Image.fromarray(rgb, "RGB"), transparency=(key, key, key))


# -- ICC profiles -----------------------------------------------------------------------------------------


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + _s15(x) + _s15(y) + _s15(z)


def icc_profile(space: str, curve: np.ndarray) -> bytes:
    """A version 2 display profile: TRC `curve` (256 uint16 values: input level -> linear light) for
    a GRAY profile, or the same curve on all three channels with sRGB's colorants for an RGB one."""
    desc_text = b"imagegate test profile\x00"
    desc = (b"desc\x00\x00\x00\x00" + struct.pack(">I", len(desc_text)) + desc_text
            + b"\x00" * 8 + b"\x00\x00\x00" + b"\x00" * 67)
    curv = b"curv\x00\x00\x00\x00" + struct.pack(">I", 256) + curve.astype(">u2").tobytes()
    tags = [(b"desc", desc), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)), (b"cprt", b"text\x00\x00\x00\x00none\x00")]
    if space == "GRAY":
        tags.append((b"kTRC", curv))
    else:
        tags += [(b"rXYZ", _xyz(0.4361, 0.2225, 0.0139)), (b"gXYZ", _xyz(0.3851, 0.7169, 0.0971)),
                 (b"bXYZ", _xyz(0.1431, 0.0606, 0.7141)), (b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\x00" * (-len(data) % 4)
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntr"
              + (b"GRAY" if space == "GRAY" else b"RGB ") + b"XYZ " + b"\x00" * 12 + b"acsp"
              + b"\x00" * 24 + b"\x00" * 4 + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\x00" * 48)
    assert len(header) == 128
    return header + table + body


def srgb_linear(levels: np.ndarray) -> np.ndarray:
    v = levels / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def face_in_icc_curve(space: str = "RGB") -> bytes:
    """Grey levels scrambled by a permutation and a profile whose tone curve undoes it: without the
    profile the picture is noise, a colour-managed viewer shows the face."""
    perm = np.random.default_rng(7).permutation(256).astype(np.uint8)
    grey = hopper_grey()
    stored = perm[grey]
    inverse = np.argsort(perm)  # stored level -> the level a viewer should see
    curve = np.round(srgb_linear(inverse.astype(float)) * 65535)
    icc = icc_profile(space, curve)
    img = Image.fromarray(stored, "L") if space == "GRAY" else Image.fromarray(stored, "L").convert("RGB")
    return png(img, icc_profile=icc)


def srgb_curve_profile(space: str = "RGB") -> bytes:
    """A hand-made profile that is plain sRGB: applying it changes nothing."""
    return icc_profile(space, np.round(srgb_linear(np.arange(256.0)) * 65535))


# -- embedded pictures ------------------------------------------------------------------------------------


def hopper_thumbnail(long_side: int = 256) -> bytes:
    small = Image.open(HOPPER).convert("RGB")
    small.thumbnail((long_side, long_side))
    return jpeg(small, quality=85)


def exif_with_thumbnail(thumbnail: bytes) -> bytes:
    """EXIF with IFD0 (orientation 1) and an IFD1 JPEG thumbnail."""
    ifd0, _ = _ifd([(0x0112, 3, 1, struct.pack("<H", 1))], 8, 26)
    ifd1, _ = _ifd([(0x0103, 3, 1, struct.pack("<H", 6)), (0x0201, 4, 1, struct.pack("<I", 26 + 42)),
                    (0x0202, 4, 1, struct.pack("<I", len(thumbnail)))], 26, 0)
    assert len(ifd0) == 18 and len(ifd1) == 42
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd0 + ifd1 + thumbnail


def faceless_main() -> Image.Image:
    return Image.open(COFFEE).convert("RGB")


def thumbnail_with_a_face() -> bytes:
    """A photo of coffee whose EXIF thumbnail is Grace Hopper."""
    return jpeg(faceless_main(), exif=exif_with_thumbnail(hopper_thumbnail()))


def mpf_with_a_face() -> bytes:
    """A photo of coffee whose second MPF image is Grace Hopper."""
    buf = io.BytesIO()
    faceless_main().save(buf, "MPO", save_all=True, append_images=[Image.open(HOPPER).convert("RGB")])
    return buf.getvalue()


def xmp_with_a_face() -> bytes:
    """A photo of coffee carrying Grace Hopper as a Google-camera style GImage:Data in its XMP."""
    data = base64.b64encode(hopper_thumbnail(400)).decode()
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description rdf:about="" xmlns:GImage="http://ns.google.com/photos/1.0/image/" '
           f'GImage:Mime="image/jpeg" GImage:Data="{data}"/></rdf:RDF></x:xmpmeta>')
    return jpeg(faceless_main(), xmp=xmp.encode())


# -- BMP: an alpha channel Pillow drops, pixels a run-length stream skips ---------------------------------

BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS = 0, 1, 2, 3
LCS_SRGB = 0x73524742


def bmp(pixels: bytes, width: int, height: int, bpp: int, compression: int, *, header: int = 124,
        masks: tuple[int, int, int, int] = (0, 0, 0, 0), palette: tuple = (), gap: int = 0) -> bytes:
    """A BMP file: its file header, an info header of `header` bytes (40 BITMAPINFOHEADER, 108 V4, 124 V5)
    holding `masks` (red, green, blue, alpha) where it has room, the colour table (RGB triples), `gap`
    bytes and `pixels` as stored."""
    info = struct.pack("<IiiHHIIiiII", header, width, height, 1, bpp, compression, len(pixels), 2835, 2835,
                       len(palette), 0)
    if header >= 56:
        info += struct.pack("<4I", *masks)
    if header >= 108:
        info += struct.pack("<I", LCS_SRGB)
    info = info.ljust(header, b"\x00")
    table = b"".join(bytes((b, g, r, 0)) for r, g, b in palette)
    offset = 14 + header + len(table) + gap
    return (b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + table + b"\x00" * gap
            + pixels)


def bmp_pixels(words: np.ndarray) -> bytes:
    """Rows of 16- or 32-bit pixel words (top down) as a BMP stores them: bottom up, each row padded to 4 bytes."""
    height, width = words.shape
    stride = (width * words.itemsize + 3) // 4 * 4 // words.itemsize
    rows = np.zeros((height, stride), words.dtype.newbyteorder("<"))
    rows[:, :width] = words[::-1]
    return rows.tobytes()


def face_in_bmp_alpha(header: int = 124, compression: int = BI_RGB, alpha_mask: int = 0xFF000000) -> bytes:
    """A 32-bit BMP whose colour bytes are all 0 and whose fourth byte holds Grace Hopper (255 - grey, so
    over a white page she appears as she is). Pillow reads BI_RGB pixels as BGRX: all black."""
    grey = hopper_grey().astype(np.uint32)
    words = (255 - grey) << 24
    return bmp(bmp_pixels(words), grey.shape[1], grey.shape[0], 32, compression, header=header,
               masks=(0xFF0000, 0xFF00, 0xFF, alpha_mask))


def face_in_bmp16_alpha(compression: int = BI_RGB) -> bytes:
    """A 16-bit V5 BMP (x1r5g5b5 with a 1-bit alpha mask, 0x8000) whose colour bits are all 0 and whose
    alpha bit is set on the dark half of Grace Hopper: a two-tone portrait over a white page."""
    grey = hopper_grey()
    words = np.where(grey < 128, 0x8000, 0).astype(np.uint16)
    return bmp(bmp_pixels(words), grey.shape[1], grey.shape[0], 16, compression,
               masks=(0x7C00, 0x3E0, 0x1F, 0x8000))


def rle_stream(index: np.ndarray, coded: np.ndarray | None = None, rle4: bool = False) -> bytes:
    """`index` (palette indices, rows top down) as a BI_RLE8 or BI_RLE4 stream the way encoders write one:
    rows bottom up, repeated indices as encoded runs, other stretches of 3 or more as absolute runs, an end
    of line after each row and an end of bitmap. Pixels where `coded` is False are skipped: by a delta
    inside a row, by the end of line for the rest of it."""
    height, width = index.shape
    keep = np.ones(index.shape, bool) if coded is None else np.asarray(coded, bool)
    out = bytearray()
    for y in range(height - 1, -1, -1):
        row, on, x = index[y].tolist(), keep[y].tolist(), 0
        while x < width:
            end = x
            while end < width and on[end] == on[x]:
                end += 1
            if not on[x]:
                if end == width:
                    break  # the end of line skips the rest of the row
                for step in range(x, end, 255):
                    out += bytes((0, 2, min(255, end - step), 0))
                x = end
                continue
            while x < end:
                same = 1
                while x + same < end and same < 255 and row[x + same] == row[x]:
                    same += 1
                literal = 1
                while x + literal < end and literal < 255 and row[x + literal] != row[x + literal - 1]:
                    literal += 1
                if same >= 2 or literal < 3:
                    out += bytes((same, row[x] * 17 if rle4 else row[x]))  # RLE4: the index in both nibbles
                    x += same
                    continue
                values = row[x:x + literal]
                if rle4:
                    values = [hi << 4 | lo for hi, lo in zip(values[0::2], values[1::2] + [0], strict=False)]
                out += bytes((0, literal, *values)) + b"\x00" * (len(values) % 2)
                x += literal
        out += b"\x00\x00"
    return bytes(out + b"\x00\x01")


def bmp_rle(index: np.ndarray, palette, coded: np.ndarray | None = None, *, rle4: bool = False,
            stream: bytes | None = None, gap: int = 0) -> bytes:
    """A BITMAPINFOHEADER BMP with `index` run-length coded (or `stream` as it is)."""
    height, width = index.shape
    stream = rle_stream(index, coded, rle4) if stream is None else stream
    return bmp(stream, width, height, 4 if rle4 else 8, BI_RLE4 if rle4 else BI_RLE8, header=40,
               palette=tuple(palette), gap=gap)


def face_in_rle_skips(rle4: bool = False) -> bytes:
    """Grace Hopper's dark half coded with palette entry 1 (black), her light half skipped; entry 0 is black
    too. Pillow fills skipped pixels with entry 0: all black. A browser leaves them transparent: a sharp
    two-tone portrait on a white page."""
    dark = hopper_grey() < 128
    return bmp_rle(dark.astype(np.uint8), [(0, 0, 0), (0, 0, 0)], coded=dark, rle4=rle4)
