"""Checks a drawn signature (the portal's canvas, as PNG) before it is stored or drawn into a PDF."""
from __future__ import annotations

import warnings
from io import BytesIO

from quoteflow.errors import InvalidArgument

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 512 * 1024
MIN_SIDE, MAX_SIDE = 16, 4096
MAX_PIXELS = 8_000_000


def check_signature_png(data: bytes) -> tuple[int, int]:
    """Returns (width, height) of a sane PNG, else InvalidArgument on ``signature_png``."""
    def bad(why: str) -> InvalidArgument:
        return InvalidArgument({"signature_png": why})

    if len(data) > MAX_BYTES:
        raise bad(f"at most {MAX_BYTES // 1024} KiB, got {len(data) // 1024} KiB")
    if not data.startswith(PNG_MAGIC):
        raise bad("is not a PNG image")
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data), formats=["PNG"]) as image:
                width, height = image.size
                if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE) \
                        or width * height > MAX_PIXELS:
                    raise bad(f"{width}×{height} pixels is not a signature's size "
                              f"({MIN_SIDE} to {MAX_SIDE} pixels a side)")
                image.load()
    except InvalidArgument:
        raise
    except Exception as exc:  # truncated, corrupt, a bomb: Pillow says so in many ways
        raise bad(f"cannot be read as a PNG image ({type(exc).__name__})") from None
    return width, height
