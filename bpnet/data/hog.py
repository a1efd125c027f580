"""Histograms of oriented gradients (Dalal & Triggs, 2005) in NumPy, as OpenCV computes them.

The descriptor of the classical face baselines, computed the way OpenCV's
``cv2.HOGDescriptor(win, (2 * cell, 2 * cell), (cell, cell), (cell, cell), bins).compute``
does with its other settings at their defaults (``winSigma=-1``, ``L2Hys`` at 0.2, unsigned
gradients), over the whole image as one window:

* gradients: centred ``[-1, 0, 1]`` differences, zero across the image border (OpenCV's
  reflect-101 border makes both neighbours the same pixel); ``gamma_sqrt`` first takes the
  square root of every pixel (OpenCV's ``gammaCorrection``); a colour image keeps, per
  pixel, the gradient of the channel with the largest magnitude (ties: the first channel);
* votes: the magnitude split linearly between the two orientation bins (0-180 degrees)
  whose centres surround the angle, and, within a block, linearly between the cells whose
  centres surround the pixel (votes that would fall outside the block are dropped), each
  weighted by a Gaussian window over the block (sigma = block side in px / 4, centred on
  the block's middle pixel edge, ``i - side / 2``);
* blocks of ``block x block`` cells stepping one cell, each normalised with L2-Hys:
  ``v / (||v|| + 0.1 len(v))``, clipped at ``clip``, then ``v / (||v|| + 1e-3)`` (OpenCV's
  epsilons, so a flat block stays all zeros).

Layout (OpenCV's): blocks column by column (x outer, y inner), within a block its cells
column by column, each cell a histogram of ``bins``. This matches ``cv2`` to float32
rounding and OpenCV's approximate ``atan2`` (tests/test_hog.py compares the two).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from .descriptors import to_gray

__all__ = ["hog", "hog_length"]


def hog_length(height: int, width: int, cell: int = 8, block: int = 2, bins: int = 9) -> int:
    """Length of :func:`hog` of a ``height x width`` image."""
    ny, nx = height // cell, width // cell
    return max(ny - block + 1, 0) * max(nx - block + 1, 0) * block * block * bins


def _gradient(image: np.ndarray, gamma_sqrt: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel ``(magnitude, angle in degrees modulo 180)`` of a ``(H, W)`` or ``(H, W, C)``."""
    # OpenCV's arithmetic is float32; channels whose magnitudes tie in exact arithmetic
    # (common after the square root) are then told apart as it does
    img = np.sqrt(np.maximum(image, 0.0).astype(np.float32)).astype(np.float64) \
        if gamma_sqrt else image
    if img.ndim == 2:
        img = img[..., None]
    g_row = np.zeros_like(img)
    g_col = np.zeros_like(img)
    g_row[1:-1] = img[2:] - img[:-2]  # the border rows and columns stay 0 (reflect-101)
    g_col[:, 1:-1] = img[:, 2:] - img[:, :-2]
    sq = g_row.astype(np.float32) ** 2 + g_col.astype(np.float32) ** 2
    # ties go to the first channel, as in OpenCV (measured: its vectorised loop)
    pick = np.argmax(sq, axis=2)[..., None]
    g_row = np.take_along_axis(g_row, pick, axis=2)[..., 0]
    g_col = np.take_along_axis(g_col, pick, axis=2)[..., 0]
    return np.hypot(g_row, g_col), np.rad2deg(np.arctan2(g_row, g_col)) % 180.0


def _block_weights(cell: int, block: int) -> np.ndarray:
    """``(block, side)``: the weight of a block's pixel row (or column) ``i`` towards its cell ``c``.

    The Gaussian window and the linear (tent) weight of the distance between the pixel's
    centre and the cell's centre, in cells, both factor into a row and a column part, so
    a pixel's weight towards cell ``(cy, cx)`` is ``w[cy, i] * w[cx, j]``.
    """
    side = cell * block
    d = np.arange(side) - side * 0.5  # OpenCV's offset: pixel index minus half the side
    sigma = side / 4.0  # OpenCV's default winSigma, (block width + block height) / 8
    pos = (np.arange(side) + 0.5) / cell - 0.5  # pixel centre in cell units
    tent = np.maximum(0.0, 1.0 - np.abs(pos[None, :] - np.arange(block)[:, None]))
    return tent * np.exp(-d ** 2 / (2.0 * sigma ** 2))


def hog(image: ArrayLike, cell: int = 8, block: int = 2, bins: int = 9,
        clip: float = 0.2, color: bool = False, gamma_sqrt: bool = False) -> np.ndarray:
    """HOG descriptor of one image (OpenCV's computation, see the module docstring).

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
        At least ``block * cell`` pixels each way; pixels beyond a whole number of cells are
        ignored. On the ``0..255`` scale for OpenCV's epsilons to mean the same.
    cell : int
        Cell side in pixels.
    block : int
        Block side in cells (blocks step by one cell).
    bins : int
        Orientation bins over 0-180 degrees.
    clip : float
        L2-Hys clipping threshold.
    color : bool
        Keep the colour channels (each pixel votes with its strongest channel's gradient, as
        OpenCV does on a colour image); False converts RGB to luma first
        (:func:`~bpnet.data.descriptors.to_gray`).
    gamma_sqrt : bool
        Square-root every pixel before the gradients (OpenCV's ``gammaCorrection``).

    Returns
    -------
    descriptor : (hog_length(H, W, cell, block, bins),) float64
        Blocks column by column, each its ``block x block`` cells column by column, each a
        histogram of ``bins``.
    """
    arr = np.asarray(image)
    if color and arr.ndim == 3 and arr.shape[2] >= 3:
        img = arr[..., :3].astype(np.float64)
    else:
        img = to_gray(arr)
    ny, nx = img.shape[0] // cell, img.shape[1] // cell
    if ny < block or nx < block:
        raise ValueError(f"image {img.shape[:2]} is smaller than one block of {block}x{block} "
                         f"cells of {cell} px")
    mag, angle = _gradient(img[:ny * cell, :nx * cell], gamma_sqrt)
    # each vote is split between the two bins whose centres surround its angle
    pos = angle / (180.0 / bins) - 0.5
    low = np.floor(pos).astype(np.int64)
    frac = pos - low
    votes = np.zeros(mag.shape + (bins,))
    rows, cols = np.indices(mag.shape)
    votes[rows, cols, low % bins] = mag * (1.0 - frac)
    votes[rows, cols, (low + 1) % bins] += mag * frac  # another bin than low: bins >= 2
    side, w = cell * block, _block_weights(cell, block)
    # the weights factor into rows and columns: sum over each block's rows, then columns
    rows = sliding_window_view(votes, side, axis=0)[::cell]  # (by, W, bins, side)
    per_row = np.einsum("yxki,ci->ycxk", rows, w)
    cols = sliding_window_view(per_row, side, axis=2)[:, :, ::cell]  # (by, cy, bx, bins, side)
    hist = np.einsum("ycxkj,dj->xydck", cols, w)
    blocks = hist.reshape(hist.shape[0], hist.shape[1], -1)  # (bx, by, cx cy bins): OpenCV's
    eps = 0.1 * blocks.shape[-1]  # OpenCV's, added to the norm: a flat block stays all zeros
    blocks = blocks / (np.sqrt(np.sum(blocks ** 2, axis=-1, keepdims=True)) + eps)
    blocks = np.minimum(blocks, clip)
    blocks = blocks / (np.sqrt(np.sum(blocks ** 2, axis=-1, keepdims=True)) + 1e-3)
    return blocks.ravel()
