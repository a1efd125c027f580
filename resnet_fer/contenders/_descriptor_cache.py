"""Per-image descriptors of the face crops, computed once per image set and kept in memory.

Every fold of a run describes the same images, and a descriptor does not depend on any
label, so it is computed once (the fitted parts, PCA and normalisers, stay per fold). The
cache is keyed by a digest of the images' bytes, so another image set (or other settings)
gets its own entry.
"""
from __future__ import annotations

import hashlib

import numpy as np

from bpnet.data.features import describe_images
from bpnet.data.hog import hog

__all__ = ["BLOCKS", "clear_cache", "descriptors", "stack_blocks"]

#: The descriptor families: LPQ (256 bins), PHOG (8 bins x 85 pyramid cells), HOG (8 px cells).
BLOCKS = ("lpq", "phog", "hog")

_CACHE: dict[str, dict[str, np.ndarray]] = {}


def _key(images: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((images.shape, images.dtype.str)).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()


def descriptors(images, progress: bool = False) -> dict[str, np.ndarray]:
    """LPQ, PHOG and HOG of every image, ``{name: (n, d) float64}`` (cached).

    Parameters
    ----------
    images : (n, H, W, 3) or (n, H, W) uint8 array (or tensor)
    progress : bool
    """
    images = np.asarray(images)
    key = _key(images)
    if key not in _CACHE:
        lpq_desc, phog_desc = describe_images(images, progress=progress)
        hog_desc = np.stack([hog(image) for image in images])
        _CACHE[key] = {"lpq": lpq_desc, "phog": phog_desc, "hog": hog_desc}
    return _CACHE[key]


def stack_blocks(desc: dict[str, np.ndarray], blocks, sqrt: bool = True) -> np.ndarray:
    """The chosen descriptor blocks side by side, ``(n, sum of d)``.

    ``sqrt``: square-root each histogram (the Hellinger kernel's map), which evens out bins
    dominated by a few large counts.
    """
    unknown = sorted(set(blocks) - set(BLOCKS))
    if unknown or not blocks:
        raise ValueError(f"descriptor blocks must be a non-empty subset of {BLOCKS}, got {blocks}")
    return np.hstack([np.sqrt(np.maximum(desc[b], 0.0)) if sqrt else desc[b] for b in blocks])


def clear_cache() -> None:
    """Forget every cached descriptor set."""
    _CACHE.clear()
