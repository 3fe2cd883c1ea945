"""Helpers for the publishable-version tests: registers and photos that carry metadata."""

from __future__ import annotations

import io
import struct
from pathlib import Path

from PIL import Image, ImageCms

from imagegate.enrol import enrol
from imagegate.gate import Gate
from imagegate.register.store import Register

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"
GPS_LAT = (60, 10, 0)  # a position in Helsinki
SERIAL = "SN-4711-0815"
OWNER = "Owner Person Name"
PERSON = "Secret Client Name"

MWG_XMP = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
 xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#">
<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag><rdf:li rdf:parseType="Resource">
<mwg-rs:Name>{PERSON}</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>
<mwg-rs:Area stArea:x="0.5" stArea:y="0.35" stArea:w="0.4" stArea:h="0.35" stArea:unit="normalized"/>
</rdf:li></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions></rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""

PEOPLE_XMP = {
    "microsoft": '<rdf:Description xmlns:MP="http://ns.microsoft.com/photo/1.2/"><MP:RegionInfo>'
                 f"<MPRI:Regions><MPReg:PersonDisplayName>{PERSON}</MPReg:PersonDisplayName></MPRI:Regions>"
                 "</MP:RegionInfo></rdf:Description>",
    "apple": '<rdf:Description xmlns:apple-fi="http://ns.apple.com/faceinfo/1.0/">'
             "<apple-fi:Regions><apple-fi:RegionList/></apple-fi:Regions></rdf:Description>",
    "iptc": '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
            f"<Iptc4xmpExt:PersonInImage><rdf:Bag><rdf:li>{PERSON}</rdf:li></rdf:Bag></Iptc4xmpExt:PersonInImage>"
            "</rdf:Description>",
}


def build_register(path: Path, gate_parts: dict, people: list[dict], data: Path | None = None) -> Path:
    """people: {"name", "role", "photos", "consent": [channels] | None, "until": date | None}. Consents count
    from 2026-01-01 (or their last day, if earlier), so checks dated before the day the tests run
    (`--on 2026-12-01`) are covered."""
    reg = Register(path)
    gate = Gate(register=reg, **gate_parts)
    for p in people:
        enrol(gate, p["name"], p["role"], [str(ph) for ph in p["photos"]])
        if p.get("consent"):
            reg.add_consent(p["name"], p["consent"], valid_until=p.get("until"),
                            risks_explained=p.get("risks", False),
                            valid_from=p.get("from", min("2026-01-01", str(p.get("until") or "2026-01-01"))))
    reg.close()
    return path


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # once: it embeds a timestamp


def srgb_icc() -> bytes:
    return _SRGB


def _ifd(entries: list[tuple[int, int, int, bytes]], offset: int, next_ifd: int) -> tuple[bytes, bytes]:
    """One little-endian TIFF IFD at `offset`; values over 4 bytes go in the returned data area."""
    head_len = 2 + 12 * len(entries) + 4
    data_off = offset + head_len
    head, extra = struct.pack("<H", len(entries)), b""
    for tag, typ, count, value in sorted(entries):
        if len(value) <= 4:
            head += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\x00")
        else:
            head += struct.pack("<HHII", tag, typ, count, data_off + len(extra))
            extra += value + (b"\x00" if len(value) % 2 else b"")
    return head + struct.pack("<I", next_ifd), extra


def exif_with_gps_and_thumbnail(thumbnail: bytes, orientation: int = 6) -> bytes:
    """EXIF with Orientation, Artist (owner), body serial, a GPS position and an IFD1 JPEG thumbnail."""
    ascii_ = lambda s: s.encode() + b"\x00"  # noqa: E731
    rational = lambda *v: b"".join(struct.pack("<II", x, 1) for x in v)  # noqa: E731
    # layout: header(8) | IFD0 | exif IFD | GPS IFD | IFD1 | thumbnail; offsets fixed by sizing passes
    ifd0_entries = lambda exif_off, gps_off: [  # noqa: E731
        (0x0112, 3, 1, struct.pack("<H", orientation)),
        (0x013B, 2, len(OWNER) + 1, ascii_(OWNER)),
        (0x8769, 4, 1, struct.pack("<I", exif_off)),
        (0x8825, 4, 1, struct.pack("<I", gps_off)),
    ]
    exif_entries = [(0xA431, 2, len(SERIAL) + 1, ascii_(SERIAL))]
    gps_entries = [(1, 2, 2, b"N\x00"), (2, 5, 3, rational(*GPS_LAT)), (3, 2, 2, b"E\x00"),
                   (4, 5, 3, rational(24, 56, 0))]

    def build(exif_off, gps_off, ifd1_off, thumb_off):
        ifd0, x0 = _ifd(ifd0_entries(exif_off, gps_off), 8, ifd1_off)
        exif_ifd, x1 = _ifd(exif_entries, exif_off, 0)
        gps, x2 = _ifd(gps_entries, gps_off, 0)
        ifd1, x3 = _ifd([(0x0201, 4, 1, struct.pack("<I", thumb_off)),
                         (0x0202, 4, 1, struct.pack("<I", len(thumbnail)))], ifd1_off, 0)
        return [ifd0 + x0, exif_ifd + x1, gps + x2, ifd1 + x3]

    parts = build(0, 0, 0, 0)
    for _ in range(2):  # sizes do not depend on offsets, so one pass fixes them
        offs = [8]
        for p in parts:
            offs.append(offs[-1] + len(p))
        parts = build(offs[1], offs[2], offs[3], offs[4])
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + b"".join(parts) + thumbnail


def tagged_jpeg(source: Path, out: Path, *, xmp: str = MWG_XMP, orientation: int = 6) -> Path:
    """`source`'s pixels stored turned (so EXIF orientation `orientation` shows them upright), with GPS,
    owner, serial, an EXIF thumbnail of the photo, an XMP people-tag packet and an sRGB ICC profile."""
    img = Image.open(source).convert("RGB")
    stored = img.transpose(Image.Transpose.ROTATE_90) if orientation == 6 else img
    thumb = io.BytesIO()
    small = stored.copy()  # a camera's thumbnail is stored like the main pixels, before orientation
    small.thumbnail((96, 96))
    small.save(thumb, "JPEG", quality=70)
    stored.save(out, "JPEG", quality=92, exif=exif_with_gps_and_thumbnail(thumb.getvalue(), orientation),
                xmp=xmp.encode("utf-8"), icc_profile=srgb_icc())
    return out


def xmp_packet(body: str) -> str:
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f"{body}</rdf:RDF></x:xmpmeta>")


def sample_crowd(client_width: int = 150, *, client_at: int = 5, cols: int = 4, rows: int = 3,
                 tile: int = 280) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """A crowd made from the sample photos: astronaut.png (mirrored every other tile) in each tile
    but one, which holds grace_hopper.jpg `client_width` px wide. With the default sizes the 11
    astronauts' faces are ~64 px and Grace Hopper's ~63 px: a client who is not prominent. Returns
    the photo and each tile's box (x y w h)."""
    astro = Image.open(SAMPLES / "astronaut.png").convert("RGB").resize((tile, tile))
    grace = Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")
    grace = grace.resize((client_width, round(client_width * grace.height / grace.width)))
    out = Image.new("RGB", (cols * tile, rows * tile), (90, 90, 90))
    tiles = []
    for i in range(cols * rows):
        x, y = (i % cols) * tile, (i // cols) * tile
        if i == client_at:
            out.paste(grace.crop((0, 0, min(grace.width, tile), min(grace.height, tile))),
                      (x + max(0, (tile - grace.width) // 2), y + max(0, (tile - grace.height) // 2)))
        else:
            out.paste(astro.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if i % 2 else astro, (x, y))
        tiles.append((x, y, tile, tile))
    return out, tiles
