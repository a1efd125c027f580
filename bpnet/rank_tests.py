"""All models at once: the Friedman test, the Nemenyi post-hoc test and its diagram.

Each (repeat, fold) is a block in which the models are ranked by their score (rank 1 =
best); the tests ask whether the mean ranks differ more than chance would make them
(Demšar 2006). The pairwise tests of two models are in :mod:`bpnet.stats`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

from .stats import SignificanceTest

if TYPE_CHECKING:
    import matplotlib.figure

__all__ = ["FriedmanTest", "friedman", "nemenyi_q", "plot_critical_difference",
           "smallest_p_friedman"]


@dataclass(frozen=True)
class FriedmanTest(SignificanceTest):
    """Friedman's test over blocks, with the Nemenyi critical difference.

    Attributes
    ----------
    models : tuple of str
    mean_ranks : tuple of float
        Mean rank of each model over the blocks (1 = best).
    n_blocks : int
        N, the (repeat, fold) blocks.
    chi2, p_chi2 : float
        Friedman's statistic (corrected for ties) and its chi-square p with k-1 df.
    f_stat, p_value : float
        Iman-Davenport's F and its p with (k-1, (k-1)(N-1)) df; the test to report.
    alpha : float
        Level of the critical difference.
    critical_difference : float
        Nemenyi's CD at ``alpha``: two mean ranks further apart than this differ.
    nemenyi_p : tuple of tuple of float
        (k, k) pairwise Nemenyi p-values (family-wise; 1.0 on the diagonal).
    smallest_p : float
        ``(k!) ** (1 - N)`` (:func:`smallest_p_friedman`).
    nemenyi_smallest_p : float
        Nemenyi's p for the largest possible rank difference, k - 1.
    """

    models: tuple[str, ...]
    mean_ranks: tuple[float, ...]
    n_blocks: int
    chi2: float
    p_chi2: float
    f_stat: float
    p_value: float
    alpha: float
    critical_difference: float
    nemenyi_p: tuple[tuple[float, ...], ...]
    smallest_p: float
    nemenyi_smallest_p: float


def smallest_p_friedman(n_blocks: int, n_models: int) -> float:
    """The smallest p any rank test on ``n_blocks`` x ``n_models`` ranks can honestly give.

    Under H0 every block's ranking is one of k! equally likely orders, independently; the
    most extreme outcome, every block ranking the models in the same order, has
    probability ``k! / (k!) ** N``. So no exact test reaches below ``(k!) ** (1 - N)``:
    0.0625 for two models on 5 folds (Friedman is then the sign test). The chi-square and F
    approximations can print smaller numbers, but beyond this floor they are extrapolation.
    """
    if n_blocks < 1 or n_models < 2:
        raise ValueError(f"need n_blocks >= 1 and n_models >= 2, got {n_blocks}, {n_models}")
    return float(math.exp((1 - n_blocks) * math.lgamma(n_models + 1)))


def nemenyi_q(n_models: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical value q_alpha: the studentized range quantile over sqrt(2).

    Demšar's Table 5(a): 1.960, 2.343, 2.569, 2.728 for 2..5 models at 0.05.
    """
    return float(_st.studentized_range.ppf(1 - alpha, n_models, np.inf) / math.sqrt(2))


def friedman(
    scores: ArrayLike, models: Sequence[str] | None = None, alpha: float = 0.05
) -> FriedmanTest:
    r"""Friedman test and Nemenyi post-hoc test of k models over N blocks.

    Parameters
    ----------
    scores : (N, k) array-like of float
        One row per (repeat, fold), one column per model; higher is better (accuracy).
    models : sequence of k str, optional
        Default ``"0" .. "k-1"``.
    alpha : float, default 0.05
        Level of the Nemenyi critical difference.

    Returns
    -------
    FriedmanTest

    Notes
    -----
    Ranks :math:`r_{ij}` within each block (ties get their mean rank), mean ranks
    :math:`R_j`. Friedman's statistic, with the tie correction,

    .. math:: \chi^2_F = \frac{12 N}{k(k+1)} \Big[\sum_j R_j^2 - \frac{k(k+1)^2}{4}\Big]
              \Big/ \Big(1 - \frac{\sum (t^3 - t)}{N k (k^2 - 1)}\Big)

    (the sum over groups of t tied values) is conservative, so Demšar recommends Iman and
    Davenport's :math:`F_F = (N-1)\chi^2_F / (N(k-1) - \chi^2_F)` with :math:`k-1` and
    :math:`(k-1)(N-1)` degrees of freedom; ``p_value`` is its p. The Nemenyi test calls two
    models different when their mean ranks differ by at least

    .. math:: CD = q_\alpha \sqrt{k(k+1) / (6N)},

    with :math:`q_\alpha` from the studentized range (:func:`nemenyi_q`).

    Caveat: Demšar's blocks are independent data sets. Folds and repeats of one data set
    share training rows and samples, so their rankings are positively correlated and these
    p-values are too small in the way the plain t over folds is (:mod:`bpnet.stats`). Read
    them as a summary of how consistently the models are ordered over the folds; the
    pairwise corrected t is the test that accounts for the dependence.

    References
    ----------
    J. Demšar, "Statistical comparisons of classifiers over multiple data sets", JMLR
    7:1-30, 2006. M. Friedman, JASA 32(200):675-701, 1937. R. L. Iman and J. M. Davenport,
    Communications in Statistics 9(6):571-595, 1980. P. B. Nemenyi, *Distribution-free
    multiple comparisons*, PhD thesis, Princeton, 1963.
    """
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"scores must be a finite (N, k) array with N, k >= 2, got {x.shape}")
    n, k = x.shape
    names = tuple(str(i) for i in range(k)) if models is None else tuple(map(str, models))
    if len(names) != k:
        raise ValueError(f"{len(names)} model names for {k} columns")
    ranks = _st.rankdata(-x, axis=1)  # rank 1 = highest score; ties share their mean rank
    mean = ranks.mean(axis=0)
    ties = sum(float(np.sum(c ** 3 - c)) for c in
               (np.unique(row, return_counts=True)[1] for row in ranks))
    denom = 1.0 - ties / (n * k * (k * k - 1))
    if denom <= 0:  # every block is one big tie: nothing to rank
        chi2 = 0.0
    else:
        chi2 = 12.0 * n / (k * (k + 1)) * (np.sum(mean ** 2) - k * (k + 1) ** 2 / 4) / denom
    chi2 = max(float(chi2), 0.0)
    df1, df2 = k - 1, (k - 1) * (n - 1)
    room = n * (k - 1) - chi2  # 0 when every block ranks the models in the same order
    f = (n - 1) * chi2 / room if room > 1e-12 else math.inf
    p_f = float(_st.f.sf(f, df1, df2)) if math.isfinite(f) else 0.0
    se = math.sqrt(k * (k + 1) / (6.0 * n))
    z = np.abs(mean[:, None] - mean[None, :]) / se
    pair_p = _st.studentized_range.sf(z * math.sqrt(2), k, np.inf)
    np.fill_diagonal(pair_p, 1.0)
    pair_p = np.clip(pair_p, 0.0, 1.0)
    floor = float(_st.studentized_range.sf((k - 1) / se * math.sqrt(2), k, np.inf))
    return FriedmanTest(
        names, tuple(float(v) for v in mean), int(n), chi2, float(_st.chi2.sf(chi2, df1)),
        float(f), p_f, float(alpha), nemenyi_q(k, alpha) * se,
        tuple(tuple(float(v) for v in row) for row in pair_p),
        smallest_p_friedman(n, k), floor)


def _cliques(ranks: np.ndarray, cd: float) -> list[tuple[int, int]]:
    """Maximal runs (i, j) of rank-sorted models whose ranks span less than ``cd``."""
    runs = []
    for i in range(ranks.size):
        j = i
        while j + 1 < ranks.size and ranks[j + 1] - ranks[i] < cd:
            j += 1
        if j > i and (not runs or j > runs[-1][1]):
            runs.append((i, j))
    return runs


def plot_critical_difference(result: FriedmanTest, title: str | None = None) -> "matplotlib.figure.Figure":
    """Demšar's critical-difference diagram of a :func:`friedman` result.

    The axis is the mean rank (1 = best, on the left); each model is marked at its mean
    rank and labelled, the best half on the left. A thick bar joins models whose mean ranks
    differ by less than the Nemenyi critical difference (not significantly different at
    ``result.alpha``); the bar at the top shows the CD itself.

    Returns
    -------
    matplotlib.figure.Figure
        Not shown and not saved; no pyplot, so the caller's backend is left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = len(result.models)
    order = np.argsort(result.mean_ranks, kind="stable")
    ranks = np.asarray(result.mean_ranks)[order]
    labels = [f"{result.models[i]} ({r:.2f})" for i, r in zip(order, ranks)]
    cd = result.critical_difference
    half = (k + 1) // 2
    # The rank axis gets 3.5 inches in the middle; each side keeps room for its labels.
    side = 0.4 + 0.075 * max(len(s) for s in labels)
    width, height = 3.5 + 2 * side, 1.4 + 0.3 * half
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    top = 0.96 - (0.3 / height if title else 0.0)  # room for a title above the CD bar
    ax = fig.add_axes((side / width, 0.02, 3.5 / width, top))
    pad = 0.08 * (k - 1) + 0.1
    ax.set_xlim(1 - pad, k + pad)
    ax.set_ylim(-0.45 - 0.3 * half, 1.0)
    ax.axis("off")
    ax.hlines(0, 1, k, color="k", lw=1)
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.08, color="k", lw=1)
        ax.text(r, 0.12, str(r), ha="center", va="bottom", fontsize=9)
    ax.text((1 + k) / 2, 0.42, "mean rank (1 = best)", ha="center", va="bottom", fontsize=9)
    ax.hlines(0.75, 1, 1 + cd, color="k", lw=1.5)
    ax.vlines([1, 1 + cd], 0.7, 0.8, color="k", lw=1.5)
    ax.text(1, 0.82, f"CD = {cd:.2f} (Nemenyi, alpha = {result.alpha:g})",
            ha="left", va="bottom", fontsize=8)
    for pos, (r, label) in enumerate(zip(ranks, labels)):
        left = pos < half
        y = -0.25 - 0.3 * (pos if left else k - 1 - pos)
        x_end = 1 - pad if left else k + pad
        ax.plot([r, r, x_end], [0, y, y], color="0.3", lw=0.8)
        ax.text(x_end + (-0.03 if left else 0.03) * (k - 1 + pad), y, label,
                ha="right" if left else "left", va="center", fontsize=9)
    for level, (i, j) in enumerate(_cliques(ranks, cd)):
        y = -0.1 - 0.07 * level
        ax.hlines(y, ranks[i] - 0.03, ranks[j] + 0.03, color="k", lw=3)
    if title:
        fig.suptitle(title, fontsize=10, y=0.99)
    return fig
