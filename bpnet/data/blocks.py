"""Descriptor blocks side by side: LPQ, PHOG and HOG of each image, square-rooted and stacked.

What ``linear-descriptors`` (``resnet_fer.contenders.linear_descriptors``) learns from,
and what its saved model (:class:`bpnet.pipeline_models.LinearPipeline`) computes for a new
image: one formula, here, for both.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .features import describe_images
from .hog import hog

__all__ = ["BLOCKS", "describe_blocks", "stack_blocks"]

#: The descriptor families, LPQ (256 bins), PHOG (8 bins x 85 pyramid cells) and HOG (8 px cells).
BLOCKS = ("lpq", "phog", "hog")


def describe_blocks(images, blocks: Sequence[str] = BLOCKS, progress: bool = False,
                    **descriptor) -> dict[str, np.ndarray]:
    """``{name: (n, d) float64}`` of the ``blocks`` asked for, for ``images``.

    ``images`` : (n, H, W[, 3]) uint8 array or a sequence of such arrays. ``descriptor`` :
    LPQ and PHOG settings (:func:`~bpnet.data.features.describe_images`); HOG is OpenCV's
    (:func:`~bpnet.data.hog.hog`, its defaults). LPQ and PHOG are computed only when asked.
    """
    out: dict[str, np.ndarray] = {}
    if {"lpq", "phog"} & set(blocks):
        out["lpq"], out["phog"] = describe_images(images, progress=progress, **descriptor)
    if "hog" in blocks:
        out["hog"] = np.stack([hog(image) for image in images])
    return out


def stack_blocks(desc: dict[str, np.ndarray], blocks, sqrt: bool = True) -> np.ndarray:
    """The chosen descriptor blocks side by side, ``(n, sum of d)``.

    ``sqrt``: square-root each histogram (the Hellinger kernel's map), which evens out bins
    dominated by a few large counts.
    """
    unknown = sorted(set(blocks) - set(BLOCKS))
    if unknown or not blocks:
        raise ValueError(f"descriptor blocks must be a non-empty subset of {BLOCKS}, got {blocks}")
    return np.hstack([np.sqrt(np.maximum(desc[b], 0.0)) if sqrt else desc[b] for b in blocks])
