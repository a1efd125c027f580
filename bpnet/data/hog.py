"""Histograms of oriented gradients (Dalal & Triggs, 2005) in NumPy.

The descriptor of the classical face baselines: per ``cell x cell`` pixel cell, a histogram
of unsigned gradient orientations (0-180 degrees) weighted by gradient magnitude, each vote
split linearly between the two nearest bins; cells grouped into overlapping ``block x block``
blocks, each block normalised with L2-Hys (L2, clip at 0.2, L2 again). The layout follows
``skimage.feature.hog(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
block_norm="L2-Hys")`` (blocks row-major, each its cells row-major, each a histogram); a
vote goes to its own cell only (no spatial interpolation between cells).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .descriptors import to_gray

__all__ = ["hog", "hog_length"]


def hog_length(height: int, width: int, cell: int = 8, block: int = 2, bins: int = 9) -> int:
    """Length of :func:`hog` of a ``height x width`` image."""
    ny, nx = height // cell, width // cell
    return max(ny - block + 1, 0) * max(nx - block + 1, 0) * block * block * bins


def hog(image: ArrayLike, cell: int = 8, block: int = 2, bins: int = 9,
        clip: float = 0.2) -> np.ndarray:
    """HOG descriptor of one image.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
        Grey or RGB (converted to luma, :func:`~bpnet.data.descriptors.to_gray`); at least
        ``block * cell`` pixels each way. Pixels beyond a whole number of cells are ignored.
    cell : int
        Cell side in pixels.
    block : int
        Block side in cells (blocks step by one cell).
    bins : int
        Orientation bins over 0-180 degrees.
    clip : float
        L2-Hys clipping threshold.

    Returns
    -------
    descriptor : (hog_length(H, W, cell, block, bins),) float64
        Blocks in row-major order, each its ``block x block`` cells' histograms.
    """
    gray = to_gray(image)
    ny, nx = gray.shape[0] // cell, gray.shape[1] // cell
    if ny < block or nx < block:
        raise ValueError(f"image {gray.shape} is smaller than one block of {block}x{block} "
                         f"cells of {cell} px")
    gray = gray[:ny * cell, :nx * cell]
    g_row = np.zeros_like(gray)
    g_col = np.zeros_like(gray)
    g_row[1:-1] = gray[2:] - gray[:-2]  # centred [-1, 0, 1]; the border rows stay 0
    g_col[:, 1:-1] = gray[:, 2:] - gray[:, :-2]
    mag = np.hypot(g_row, g_col)
    angle = np.rad2deg(np.arctan2(g_row, g_col)) % 180.0
    # each vote is split between the two bins whose centres surround its angle
    pos = angle / (180.0 / bins) - 0.5
    low = np.floor(pos).astype(np.int64)
    frac = pos - low
    cell_id = (np.arange(ny * cell)[:, None] // cell) * nx + np.arange(nx * cell)[None, :] // cell
    hist = np.zeros((ny * nx, bins))
    np.add.at(hist, (cell_id.ravel(), (low % bins).ravel()), (mag * (1 - frac)).ravel())
    np.add.at(hist, (cell_id.ravel(), ((low + 1) % bins).ravel()), (mag * frac).ravel())
    hist = hist.reshape(ny, nx, bins)
    by, bx = ny - block + 1, nx - block + 1
    blocks = np.stack([hist[i:i + by, j:j + bx] for i in range(block) for j in range(block)],
                      axis=2).reshape(by, bx, -1)
    eps = 1e-5  # skimage's epsilon: a flat block stays finite (all zeros)
    blocks = blocks / np.sqrt(np.sum(blocks ** 2, axis=-1, keepdims=True) + eps ** 2)
    blocks = np.minimum(blocks, clip)
    blocks = blocks / np.sqrt(np.sum(blocks ** 2, axis=-1, keepdims=True) + eps ** 2)
    return blocks.ravel()
