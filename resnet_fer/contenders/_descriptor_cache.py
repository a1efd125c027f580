"""Per-image descriptors of the face crops, computed once per image set and kept in memory.

Every fold of a run describes the same images, and a descriptor does not depend on any
label, so it is computed once (the fitted parts, PCA and normalisers, stay per fold). The
cache is keyed by a digest of the images' bytes, so another image set (or other settings)
gets its own entry.
"""
from __future__ import annotations

import hashlib

import numpy as np

from bpnet.data.blocks import BLOCKS, describe_blocks, stack_blocks

__all__ = ["BLOCKS", "clear_cache", "descriptors", "stack_blocks"]

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
        _CACHE[key] = describe_blocks(images, BLOCKS, progress=progress)
    return _CACHE[key]


def clear_cache() -> None:
    """Forget every cached descriptor set."""
    _CACHE.clear()
