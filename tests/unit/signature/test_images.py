"""The drawn signature must be a sane PNG before it is stored or drawn into a PDF."""
import zlib
from io import BytesIO

import pytest
from PIL import Image

from quoteflow.errors import InvalidArgument
from services.signature.adapters.images import MAX_BYTES, check_signature_png


def png(width: int = 600, height: int = 200, mode: str = "RGBA", **save) -> bytes:
    buf = BytesIO()
    Image.new(mode, (width, height), (20, 30, 120, 255) if mode == "RGBA" else 0).save(buf, "PNG", **save)
    return buf.getvalue()


def test_a_canvas_png_is_accepted_with_its_size():
    assert check_signature_png(png()) == (600, 200)
    assert check_signature_png(png(16, 16, "L")) == (16, 16)


def _violation(data: bytes) -> str:
    with pytest.raises(InvalidArgument) as error:
        check_signature_png(data)
    return error.value.violations["signature_png"]


def test_other_formats_truncated_files_and_odd_sizes_are_refused():
    jpeg = BytesIO()
    Image.new("RGB", (100, 50)).save(jpeg, "JPEG")
    assert "not a PNG" in _violation(jpeg.getvalue())
    assert "not a PNG" in _violation(b"<svg onload=alert(1)>")
    assert "cannot be read" in _violation(png()[:60])
    assert "size" in _violation(png(8, 200))
    assert "size" in _violation(png(5000, 20, "L"))


def test_more_than_512_kib_is_refused_before_decoding():
    assert "512 KiB" in _violation(png() + b"\0" * MAX_BYTES)


def test_a_decompression_bomb_is_refused_without_decoding_it():
    # A 4096×4096 PNG (16 M pixels) compresses to a few KiB: its header alone must refuse it.
    raw = b"".join(b"\0" + b"\0" * 4096 for _ in range(4096))
    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    header = (4096).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    assert len(bomb) < MAX_BYTES
    assert "size" in _violation(bomb)
