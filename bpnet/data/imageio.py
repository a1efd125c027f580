"""Reading one image file into uint8 pixels: every Pillow mode, a pixel budget, clear errors.

Both branches decode images through :func:`read_image`, so a file means the same pixels to
the BP network's features and to the ResNet:

* **Every mode converted, not clipped.** 16-bit greyscale (``I;16``, ``I``) is scaled to
  0..255 (``x / 257``; Pillow's own ``convert`` clips it, turning a 16-bit frame white),
  float images (``F``) are scaled from their range, palettes, CMYK, alpha and 1-bit
  images go through Pillow's conversions. The EXIF orientation of photographs is applied.
* **A pixel budget.** The size is read from the header before anything is decoded. A JPEG
  larger than :data:`MAX_PIXELS` is decoded directly at a reduced scale when a target size
  is given (Pillow's ``draft``); any other file over the budget is refused with an error
  naming it, instead of taking gigabytes of memory.
* **Errors name the file**: truncated, unreadable or tiny images raise ``ValueError``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

__all__ = ["MAX_PIXELS", "MAX_SIDE", "MIN_SIDE", "check_side", "read_image"]

#: Largest image (width x height) decoded at full size, 50 megapixels (150 MB as RGB).
MAX_PIXELS = 50_000_000
#: Smallest side accepted, since the descriptors need a few pixels of neighbourhood.
MIN_SIDE = 8
#: Largest side an option such as ``--size`` may ask images to be resized to: 2048 x 2048
#: is 4.2 megapixels, several times any face crop, and keeps one image's descriptors (LPQ
#: and PHOG work on float copies of it) and a ResNet batch within a few GiB.
MAX_SIDE = 2048


def check_side(size: object, option: str = "--size") -> str | None:
    """Why ``size`` cannot be a target side (a sentence naming ``option``), or None if it can.

    Checked before any work: 0 once divided by zero in an image's name, a negative side
    reached Pillow, and 20000 (400 megapixels per image) took 17 GB before failing.
    """
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        return f"{option} must be a whole number of pixels, got {size!r}"
    if size < MIN_SIDE:
        return f"{option} must be at least {MIN_SIDE} pixels, got {size}"
    if size > MAX_SIDE:
        return (f"{option} {size}: {size * size:,} pixels per image is over the budget of "
                f"{MAX_SIDE} x {MAX_SIDE} ({MAX_SIDE * MAX_SIDE:,} pixels)")
    return None


def _to_uint8(image: Image.Image, mode: str) -> np.ndarray:
    """Pixels of ``image`` as uint8 in ``mode`` ("RGB" or "L"), high-bit-depth modes scaled."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16"):
            scale = 65535.0
        else:  # 32-bit int or float: scale from the range the values use
            top = float(values.max(initial=0.0))
            scale = 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else 65535.0 if top <= 65535 \
                else top
        grey = np.clip(np.rint(values * (255.0 / scale)), 0, 255).astype(np.uint8)
        return grey if mode == "L" else np.repeat(grey[..., None], 3, axis=-1)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # transparent pixels become white, not whatever colour the file stored under them
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert(mode))


def read_image(path: str | Path, mode: str = "RGB",
               size: int | tuple[int, int] | None = None, max_pixels: int = MAX_PIXELS
               ) -> np.ndarray:
    """Decode ``path`` to uint8 pixels, optionally resized (bilinear, aspect not kept).

    Parameters
    ----------
    path : str or Path
    mode : {"RGB", "L"}
        Three channels, or one luminance channel.
    size : int or (height, width), optional
        Output size. Large JPEGs decode at a reduced scale first (fast, little memory).
    max_pixels : int
        Pixel budget for a full-size decode (see the module docstring).

    Returns
    -------
    (H, W, 3) or (H, W) uint8 ndarray

    Raises
    ------
    ValueError
        The file cannot be decoded, is smaller than :data:`MIN_SIDE` pixels on a side, or is
        over the pixel budget where no reduced decode is possible; the message names the file.
    """
    path = Path(path)
    target = None if size is None else ((size, size) if isinstance(size, int) else tuple(size))
    try:
        with warnings.catch_warnings():
            # the budget below replaces Pillow's own decompression-bomb warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if min(width, height) < MIN_SIDE:
                    raise ValueError(f"{width}x{height} pixels is too small (at least "
                                     f"{MIN_SIDE} on each side)")
                if target is not None and image.format == "JPEG":
                    # JPEG decodes straight at 1/2, 1/4 or 1/8 scale: several times faster
                    # than a full decode followed by a big downscale, and far less memory
                    image.draft(mode, (target[1], target[0]))
                if image.size[0] * image.size[1] > max_pixels:
                    hint = ("give a smaller size" if target is not None else
                            "give a size to decode it reduced (e.g. --size 256)")
                    raise ValueError(f"{width}x{height} pixels is over the budget of "
                                     f"{max_pixels:,} pixels; {hint}")
                image = ImageOps.exif_transpose(image)
                pixels = _to_uint8(image, mode)
    except ValueError as exc:
        raise ValueError(f"cannot use image {path}: {exc}") from None
    except Image.DecompressionBombError as exc:
        raise ValueError(f"cannot use image {path}: {exc}") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError... on bad data
        raise ValueError(f"cannot decode image {path}: {type(exc).__name__}: {exc}") from None
    if target is not None and pixels.shape[:2] != target:
        resized = Image.fromarray(pixels).resize((target[1], target[0]),
                                                 Image.Resampling.BILINEAR)
        pixels = np.asarray(resized)
    return pixels
