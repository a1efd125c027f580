"""PHOG and LPQ image descriptors, the raw material of the paper's dataset 1.

:mod:`bpnet.data.features` re-exports the public names; this module holds only the
per-image maths so that ``features.py`` stays short.

* :func:`phog` -- Pyramid of Histograms of Oriented Gradients (Bosch, Zisserman &
  Munoz, CIVR 2007), gradient histograms over Canny edge pixels on a spatial pyramid.
* :func:`lpq` / :func:`lpq_codes` -- Local Phase Quantization (Ojansivu & Heikkila,
  ICISP 2008), the signs of a short-term Fourier transform at four low frequencies.

Both take a 2-D grayscale image (any real dtype) or an RGB(A) image, which
:func:`to_gray` converts. Neither rescales intensities: both descriptors are
invariant to multiplying the image by a positive constant, so uint8 ``0..255`` and
float ``0..1`` images give the same result.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage

__all__ = ["LUMA_WEIGHTS", "canny_edges", "lpq", "lpq_codes", "lpq_decorrelation", "phog",
           "to_gray"]

#: ITU-R BT.601 luma weights (R, G, B), the formula of MATLAB's ``rgb2gray`` and of
#: Pillow's ``"L"`` mode, i.e. what the original MATLAB descriptor code saw.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def to_gray(image: ArrayLike) -> np.ndarray:
    """Grayscale float64 copy of an image.

    Parameters
    ----------
    image : (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array
        Gray or RGB(A), any real dtype. RGB becomes ``0.299 R + 0.587 G + 0.114 B``
        (:data:`LUMA_WEIGHTS`); an alpha channel is ignored.

    Returns
    -------
    gray : (H, W) float64
        Same intensity scale as the input (uint8 stays ``0..255``).
    """
    arr = np.asarray(image)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"image must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] in (1, 3, 4):
        if arr.shape[2] == 1:
            arr = arr[..., 0]
        else:
            r, g, b = (arr[..., c].astype(np.float64) for c in range(3))
            # Same as 0.299 r + 0.587 g + 0.114 b (the weights sum to 1), but exact when
            # r == g == b, so a gray image stored as RGB gives bit-identical descriptors
            # (Canny's tie-breaks would otherwise see 1-ulp differences).
            arr = g + LUMA_WEIGHTS[0] * (r - g) + LUMA_WEIGHTS[2] * (b - g)
    if arr.ndim != 2:
        raise ValueError(f"image must have shape (H, W) or (H, W, 1|3|4), got {arr.shape}")
    gray = arr.astype(np.float64)
    if not np.all(np.isfinite(gray)):
        raise ValueError("image contains NaN or inf")
    return gray


# --------------------------------------------------------------------------- PHOG

def _non_max_suppression(mag: np.ndarray, g_row: np.ndarray, g_col: np.ndarray,
                         candidates: np.ndarray) -> np.ndarray:
    """The flat indices in ``candidates`` where ``mag`` peaks across the edge."""
    h, w = mag.shape
    # Only candidates are examined (a third of the pixels or fewer), hence flat indices
    # into the zero-padded image, where a neighbour is a fixed offset away.
    padded = np.pad(mag, 1).ravel()
    rows, cols = np.divmod(candidates, w)
    at = (rows + 1) * (w + 2) + cols + 1
    angle = np.arctan2(g_row.ravel()[candidates], g_col.ravel()[candidates])
    # Gradient direction -> neighbour axis 0, 45, 90 or 135 degrees (opposite directions
    # share an axis, hence % 4); the offsets are (0, 1), (1, 1), (1, 0), (1, -1), rows down.
    sector = np.rint(angle / (np.pi / 4)).astype(np.intp) % 4
    step = np.array([1, w + 3, w + 2, w + 1])[sector]
    here = padded[at]
    # '>=' on one side and '>' on the other keeps exactly one of two tied maxima,
    # so a step edge between two pixels gives a one-pixel-wide line.
    return candidates[(here >= padded[at + step]) & (here > padded[at - step])]


def canny_edges(image: ArrayLike, sigma: float = float(np.sqrt(2.0)),
                low_ratio: float = 0.4, not_edge_fraction: float = 0.7) -> np.ndarray:
    """Canny edge map with MATLAB ``edge(I, 'canny')`` default thresholds.

    Gaussian smoothing, central-difference gradient, non-maximum suppression across
    the edge, and hysteresis: weak pixels (>= ``low_ratio * high``) survive when their
    8-connected component holds a strong pixel (>= ``high``). As in MATLAB, ``high``
    is the upper edge of the 64-bin histogram bin of the max-normalised gradient
    magnitude that contains its ``not_edge_fraction`` quantile (so at least 1/64).

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
    sigma : float
        Standard deviation of the smoothing Gaussian, in pixels (MATLAB: sqrt(2)).
    low_ratio, not_edge_fraction : float
        MATLAB's defaults 0.4 and 0.7.

    Returns
    -------
    edges : (H, W) bool
        All False for a flat image.
    """
    gray = to_gray(image)
    smooth = ndimage.gaussian_filter(gray, sigma, mode="nearest")
    g_row, g_col = np.gradient(smooth)
    mag = np.hypot(g_row, g_col)
    peak = mag.max()
    edges = np.zeros(gray.size, dtype=bool)
    # A flat image still has rounding-level gradients; normalising those by their own
    # maximum would turn noise into edges.
    if peak <= 1e-9 * max(np.abs(gray).max(), np.finfo(float).tiny):
        return edges.reshape(gray.shape)
    high = peak * max(np.ceil(np.quantile(mag, not_edge_fraction) / peak * 64.0), 1.0) / 64.0
    weak = _non_max_suppression(mag, g_row, g_col, np.flatnonzero(mag >= low_ratio * high))
    edges[weak] = True
    labels, n_labels = ndimage.label(edges.reshape(gray.shape), structure=np.ones((3, 3)))
    labels = labels.ravel()
    strong = np.zeros(n_labels + 1, dtype=bool)
    strong[labels[weak[mag.ravel()[weak] >= high]]] = True
    return strong[labels].reshape(gray.shape)  # label 0 (background) is never strong


def phog(image: ArrayLike, bins: int = 8, levels: int = 3, angle: Literal[180, 360] = 360,
         edges: Literal["canny", "none"] = "canny") -> np.ndarray:
    """Pyramid of Histograms of Oriented Gradients.

    The gradient is the central difference of the unsmoothed image (``np.gradient``,
    as in the reference ``anna_phog.m``). Each pixel votes its gradient magnitude into
    the orientation bin of ``theta = atan2(g_row, g_col)`` folded into ``[0, angle)``
    degrees (0 = intensity increasing to the right; rows grow downwards). With
    ``edges="canny"`` only pixels of :func:`canny_edges` vote, as in the original;
    ``edges="none"`` lets every pixel vote (weighting alone suppresses flat areas).

    Level ``l`` splits the image into ``2**l x 2**l`` cells (cell of row ``r`` is
    ``floor(r * 2**l / H)``, so every pixel belongs to one cell). Levels ``0..levels``
    are concatenated, cells in row-major order, ``bins`` values per cell, and the whole
    vector is divided by its sum. Every level covers the same voting pixels, so each
    level sums to ``1 / (levels + 1)``.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
        H, W >= 2.
    bins : int
        Orientation bins per cell, each ``angle / bins`` degrees wide.
    levels : int
        The top pyramid level L (levels 0..L are used). L=3 with 8 bins gives the
        680 values of the reference code.
    angle : {180, 360}
        180 ignores the gradient's sign (dark-to-light equals light-to-dark).
    edges : {"canny", "none"}
        Which pixels vote.

    Returns
    -------
    descriptor : (bins * sum(4**l for l in range(levels + 1)),) float64
        Sums to 1; all zeros when no pixel votes (a constant image).
    """
    if angle not in (180, 360):
        raise ValueError(f"angle must be 180 or 360, got {angle!r}")
    if edges not in ("canny", "none"):
        raise ValueError(f"edges must be 'canny' or 'none', got {edges!r}")
    if bins < 1 or levels < 0:
        raise ValueError(f"need bins >= 1 and levels >= 0, got bins={bins}, levels={levels}")
    gray = to_gray(image)
    h, w = gray.shape
    if h < 2 or w < 2:
        raise ValueError(f"image must be at least 2x2 for a gradient, got {gray.shape}")
    g_row, g_col = np.gradient(gray)
    n = 2 ** levels
    cell = (np.arange(h) * n // h)[:, None] * n + (np.arange(w) * n // w)[None, :]
    g_row, g_col, cell = g_row.ravel(), g_col.ravel(), cell.ravel()
    if edges == "canny":
        # Non-edge pixels have zero weight: drop them before the per-pixel work.
        voters = np.flatnonzero(canny_edges(gray))
        g_row, g_col, cell = g_row[voters], g_col[voters], cell[voters]
    weight = np.hypot(g_row, g_col)
    # floor(theta / width) % bins folds (-180, 180] onto [0, angle) exactly as
    # theta mod angle would, with an integer modulo instead of a (slow) float one.
    width = np.deg2rad(angle) / bins
    orient = np.floor(np.arctan2(g_row, g_col) / width).astype(np.intp) % bins

    # One bincount at the finest level; coarser levels are sums of 2x2 blocks of it
    # because floor(r * 2**l / H) == floor(floor(r * 2**L / H) / 2**(L - l)).
    finest = np.bincount(cell * bins + orient, weights=weight,
                         minlength=n * n * bins).reshape(n, n, bins)
    parts = []
    for level in range(levels + 1):
        k, f = 2 ** level, 2 ** (levels - level)
        parts.append(finest.reshape(k, f, k, f, bins).sum(axis=(1, 3)).ravel())
    descriptor = np.concatenate(parts)
    total = descriptor.sum()
    return descriptor / total if total > 0 else descriptor


# --------------------------------------------------------------------------- LPQ

def _stft_kernels(win: int) -> tuple[np.ndarray, np.ndarray]:
    """1-D STFT kernels ``w0 = 1`` and ``w1 = exp(-2 pi i a y)``, ``y = -r..r``, ``a = 1/win``."""
    if win < 3 or win % 2 == 0:
        raise ValueError(f"win must be an odd integer >= 3, got {win!r}")
    r = (win - 1) // 2
    y = np.arange(-r, r + 1)
    return np.ones(win), np.exp(-2j * np.pi * y / win)


# The 8 responses as sums of the 8 real separable passes (vertical x horizontal kernel):
# 1 x cos, 1 x sin, cos x 1, sin x 1, cos x cos, sin x sin, cos x sin, sin x cos, where
# w1 = cos + i sin. E.g. u3 = w1 x w1 has real part cos x cos - sin x sin.
_PASSES_TO_RESPONSES = np.array([
    [1, 0, 0, 0, 0, 0, 0, 0],   # Re F(u1), u1 = (a, 0):  1 x w1
    [0, 1, 0, 0, 0, 0, 0, 0],   # Im F(u1)
    [0, 0, 1, 0, 0, 0, 0, 0],   # Re F(u2), u2 = (0, a):  w1 x 1
    [0, 0, 0, 1, 0, 0, 0, 0],   # Im F(u2)
    [0, 0, 0, 0, 1, -1, 0, 0],  # Re F(u3), u3 = (a, a):  w1 x w1
    [0, 0, 0, 0, 0, 0, 1, 1],   # Im F(u3)
    [0, 0, 0, 0, 1, 1, 0, 0],   # Re F(u4), u4 = (a, -a): conj(w1) x w1
    [0, 0, 0, 0, 0, 0, 1, -1],  # Im F(u4)
], dtype=np.float64)


def _separable_passes(gray: np.ndarray, win: int) -> np.ndarray:
    """The 8 real passes, shape ``(8, H - win + 1, W)``; columns not yet cut to 'valid'."""
    w0, w1 = _stft_kernels(win)
    r = (win - 1) // 2
    # Cutting r rows off a centred 'same'-size convolution leaves exactly its 'valid' part,
    # whatever the boundary mode. Separable passes cost 2*win multiplies per pixel, not win**2.
    vert = [ndimage.convolve1d(gray, k, axis=0, mode="constant")[r:-r]
            for k in (w0, w1.real, w1.imag)]
    horiz = [(0, w1.real), (0, w1.imag), (1, w0), (2, w0),
             (1, w1.real), (2, w1.imag), (1, w1.imag), (2, w1.real)]
    # Written in place into one block, so that mixing them is a single (8, 8) matmul.
    passes = np.empty((8,) + vert[0].shape)
    for j, (v, k) in enumerate(horiz):
        ndimage.convolve1d(vert[v], k, axis=1, output=passes[j], mode="constant")
    return passes


def _stft_responses(gray: np.ndarray, win: int, mix: np.ndarray | None = None) -> np.ndarray:
    """Real and imaginary STFT parts at u1..u4, ``(8, H - win + 1, W - win + 1)``.

    ``mix`` (8 x 8) is applied to the 8 responses on the way (the whitening).
    """
    passes = _separable_passes(gray, win)
    to_responses = _PASSES_TO_RESPONSES if mix is None else mix @ _PASSES_TO_RESPONSES
    r = (win - 1) // 2
    # einsum rather than '@': BLAS would split this thin (8, 8) x (8, N) product over
    # threads, which costs several times more than it saves on a busy 2-core machine.
    out = np.einsum("ij,jk->ik", to_responses, passes.reshape(8, -1)).reshape(passes.shape)
    return out[:, :, r:-r]


@lru_cache(maxsize=16)
def _decorrelation_cached(win: int, rho: float) -> np.ndarray:
    w0, w1 = _stft_kernels(win)
    # The 2-D kernels in the order of _PASSES_TO_RESPONSES, indexed (row offset, col offset).
    kernels = [np.outer(w0, w1), np.outer(w1, w0), np.outer(w1, w1), np.outer(np.conj(w1), w1)]
    M = np.stack([part.ravel() for k in kernels for part in (k.real, k.imag)])  # (8, win**2)
    r_off, c_off = np.divmod(np.arange(win * win), win)
    dist = np.hypot(r_off[:, None] - r_off[None, :], c_off[:, None] - c_off[None, :])
    D = M @ (rho ** dist) @ M.T  # covariance of the 8 responses under the pixel model
    # u1/u2 (and u3/u4) are the same filter turned by 90 degrees, so D has repeated
    # eigenvalues and its eigenvectors are defined only up to rotations within each
    # eigenspace. Scaling by distinct factors within 1e-5 of 1 (the reference MATLAB
    # code's trick) separates them and pins the basis down.
    A = np.diag(1.0 + 1e-6 * np.arange(7, -1, -1))
    _, _, Vt = np.linalg.svd(A @ D @ A)
    pivot = np.argmax(np.abs(Vt), axis=1)
    Vt *= np.where(Vt[np.arange(8), pivot] < 0, -1.0, 1.0)[:, None]
    Vt.flags.writeable = False  # shared through the cache
    return Vt


def lpq_decorrelation(win: int = 7, rho: float = 0.90) -> np.ndarray:
    """The 8 x 8 whitening transform ``V^T`` applied to the STFT responses.

    Neighbouring pixels are modelled as correlated with coefficient ``rho ** d`` at
    distance ``d``; ``D = M C M^T`` is then the covariance of the 8 responses (rows of
    ``M`` are the real and imaginary parts of the 4 STFT kernels) and, with
    ``A D A = U S V^T`` (``A`` a tie-breaking diagonal, see the source), ``V^T F`` has
    uncorrelated components. The scale ``S**-1/2`` of full whitening is left out since
    only signs are kept. Sign convention: the largest-``|value|`` entry of every row is
    positive.

    Parameters
    ----------
    win : int
        Odd window size.
    rho : float
        Correlation coefficient of adjacent pixels, in (0, 1).

    Returns
    -------
    Vt : (8, 8) float64, read-only, orthonormal rows
    """
    if not 0.0 < rho < 1.0:
        raise ValueError(f"rho must lie in (0, 1), got {rho!r}")
    return _decorrelation_cached(int(win), float(rho))


def lpq_codes(image: ArrayLike, win: int = 7, decorrelate: bool = True,
              rho: float = 0.90) -> np.ndarray:
    """Per-pixel LPQ codes.

    ``F(u, x) = sum_y f(x - y) exp(-2 pi i u.y)`` over offsets ``y`` in the
    ``win x win`` window, ``u.y = u_col * y_col + u_row * y_row``, at ``u1 = (a, 0)``,
    ``u2 = (0, a)``, ``u3 = (a, a)``, ``u4 = (a, -a)`` with ``a = 1/win`` and ``u`` given
    as (column, row) frequency. The 8 values ``Re F(u1), Im F(u1), ..., Im F(u4)`` are
    optionally decorrelated (:func:`lpq_decorrelation`), then bit ``j`` of the code is
    ``value_j > 0``. Only pixels whose window lies inside the image get a code.

    Values within rounding of zero (a flat window) count as non-positive, so a flat
    image codes to 0 everywhere instead of to rounding noise.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
        H, W >= win.
    win : int
        Odd window size.
    decorrelate : bool
        Apply the whitening transform before quantising.
    rho : float
        Pixel correlation coefficient of the whitening model.

    Returns
    -------
    codes : (H - win + 1, W - win + 1) uint8
    """
    gray = to_gray(image)
    _stft_kernels(win)  # validates win before the size check uses it
    if min(gray.shape) < win:
        raise ValueError(f"image {gray.shape} is smaller than the {win}x{win} LPQ window")
    F = _stft_responses(gray, win, lpq_decorrelation(win, rho) if decorrelate else None)
    # Each response sums win**2 pixel values, so its rounding error scales like this.
    tol = 64 * np.finfo(np.float64).eps * win * win * np.abs(gray).max()
    codes = np.zeros(F.shape[1:], dtype=np.uint8)
    for j in range(8):
        codes |= (F[j] > tol).view(np.uint8) << np.uint8(j)
    return codes


def lpq(image: ArrayLike, win: int = 7, decorrelate: bool = True,
        rho: float = 0.90) -> np.ndarray:
    """Local Phase Quantization histogram.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
        H, W >= win.
    win, decorrelate, rho
        As in :func:`lpq_codes`.

    Returns
    -------
    histogram : (256,) float64
        Fraction of the ``(H - win + 1) * (W - win + 1)`` coded pixels with each code;
        sums to 1.
    """
    codes = lpq_codes(image, win=win, decorrelate=decorrelate, rho=rho)
    return np.bincount(codes.ravel(), minlength=256) / codes.size
