"""Checks that an uploaded logo is an image Pillow can decode, of a sensible size."""
from __future__ import annotations

import io
import warnings

MAX_PIXELS = 4000 * 4000


class PillowImages:
    def check(self, data: bytes) -> tuple[int, int]:
        """(width, height) of a decodable PNG/JPEG; ValueError saying what is wrong otherwise."""
        from PIL import Image

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as image:
                    if image.format not in ("PNG", "JPEG"):
                        raise ValueError(f"{image.format} is not PNG or JPEG")
                    width, height = image.size
                    if width * height > MAX_PIXELS:
                        raise ValueError(f"{width}×{height} pixels; at most {MAX_PIXELS} pixels")
                    image.load()
        except ValueError:
            raise
        except Exception as error:  # Pillow raises many kinds for damaged files
            raise ValueError(str(error) or type(error).__name__) from None
        return width, height
