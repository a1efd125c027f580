"""Calibration of predicted probabilities: the expected calibration error and its diagram.

A model is calibrated when, of the samples it predicts with confidence 0.8, about 80 %
are right. The confidence of a sample is the largest predicted class probability and
"right" means that class is the true one (top-label calibration, Guo et al. 2017).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np
from numpy.typing import ArrayLike

from .input_checks import check_labels
from .stats import JSONResult

if TYPE_CHECKING:
    import matplotlib.figure

__all__ = ["ReliabilityCurve", "expected_calibration_error", "plot_reliability",
           "reliability_curve"]


@dataclass(frozen=True)
class ReliabilityCurve(JSONResult):
    """Per-bin accuracy and confidence of the top-label predictions.

    Attributes
    ----------
    bin_edges : tuple of float
        ``n_bins + 1`` equal-width edges from 0 to 1.
    counts : tuple of int
        Samples whose confidence falls in each bin.
    accuracy, confidence : tuple of (float or None)
        Per bin, the fraction right and the mean confidence; None for an empty bin.
    ece : float
        Expected calibration error, ``sum_b n_b / n * |accuracy_b - confidence_b|``.
    n_samples : int
    """

    bin_edges: tuple[float, ...]
    counts: tuple[int, ...]
    accuracy: tuple[float | None, ...]
    confidence: tuple[float | None, ...]
    ece: float
    n_samples: int


def _check_proba(y_true: ArrayLike, proba: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = check_labels(y_true, "y_true")
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != y.size or p.shape[0] == 0:
        raise ValueError(f"proba must have shape (n_samples, n_classes) with n_samples={y.size}, "
                         f"got {p.shape}")
    if int(y.max()) >= p.shape[1]:
        raise ValueError(f"label {int(y.max())} out of range for {p.shape[1]} classes")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1 or \
            not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("proba must hold probabilities (in [0, 1], each row summing to 1); "
                         "normalise scores (e.g. softmax) before measuring calibration")
    return y, p


def reliability_curve(y_true: ArrayLike, proba: ArrayLike, n_bins: int = 15) -> ReliabilityCurve:
    r"""Bin the top-label confidences and compare each bin's accuracy with its confidence.

    Parameters
    ----------
    y_true : (n_samples,) int array-like
    proba : (n_samples, n_classes) array-like
        Predicted class probabilities (rows sum to 1).
    n_bins : int, default 15
        Equal-width bins on [0, 1] (15 as in Guo et al. 2017).

    Returns
    -------
    ReliabilityCurve

    Notes
    -----
    Bin :math:`b` holds the confidences in :math:`((b-1)/M, b/M]` (the first bin also holds
    0). With :math:`B_b` its samples,

    .. math:: \mathrm{ECE} = \sum_{b=1}^{M} \frac{|B_b|}{n}
              \left|\mathrm{acc}(B_b) - \mathrm{conf}(B_b)\right|.

    ECE depends on the binning and is biased upwards for small n (each bin's accuracy is
    noisy), so compare models on the same samples and bins. Ties between classes go to the
    lowest class index, as ``argmax`` does.

    References
    ----------
    M. P. Naeini, G. F. Cooper and M. Hauskrecht, "Obtaining well calibrated probabilities
    using Bayesian binning", AAAI 2015. C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On
    calibration of modern neural networks", ICML 2017.
    """
    y, p = _check_proba(y_true, proba)
    if isinstance(n_bins, bool) or int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    m = int(n_bins)
    conf = p.max(axis=1)
    right = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, m + 1)
    # the number of inner edges below conf puts it in (edges[b], edges[b+1]], against the
    # very edges reported (conf * M would round 0.7 * 10 up); 0 joins bin 0
    b = np.searchsorted(edges[1:-1], conf, side="left")
    counts = np.bincount(b, minlength=m)
    acc_sum = np.bincount(b, right, minlength=m)
    conf_sum = np.bincount(b, conf, minlength=m)
    full = counts > 0
    ece = float(np.abs(acc_sum - conf_sum)[full].sum() / y.size)
    acc = [float(a / c) if c else None for a, c in zip(acc_sum, counts)]
    cnf = [float(s / c) if c else None for s, c in zip(conf_sum, counts)]
    return ReliabilityCurve(tuple(float(e) for e in edges), tuple(int(c) for c in counts),
                            tuple(acc), tuple(cnf), ece, int(y.size))


def expected_calibration_error(y_true: ArrayLike, proba: ArrayLike, n_bins: int = 15) -> float:
    """Expected calibration error with ``n_bins`` equal-width bins (see :func:`reliability_curve`)."""
    return reliability_curve(y_true, proba, n_bins).ece


def plot_reliability(curves: Mapping[str, ReliabilityCurve] | ReliabilityCurve,
                     title: str | None = None) -> "matplotlib.figure.Figure":
    """Reliability diagram: per-bin accuracy against confidence, one panel per model.

    Bars show each bin's accuracy; the red part is the gap to the bin's mean confidence
    (the diagonal is perfect calibration); the ECE is in the panel's title. Empty bins
    are left blank.

    Parameters
    ----------
    curves : ReliabilityCurve or mapping of model name -> ReliabilityCurve
    title : str, optional
        Title over all panels.

    Returns
    -------
    matplotlib.figure.Figure
        Not shown and not saved; no pyplot, so the caller's backend is left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    items = list({"model": curves}.items() if isinstance(curves, ReliabilityCurve)
                 else curves.items())
    if not items:
        raise ValueError("no reliability curves to plot")
    fig = Figure(figsize=(3.4 * len(items), 3.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(items), squeeze=False)[0]
    for ax, (name, c) in zip(axes, items):
        edges = np.asarray(c.bin_edges)
        width = np.diff(edges)
        full = [i for i, n in enumerate(c.counts) if n]
        acc = np.array([c.accuracy[i] for i in full], dtype=float)
        cnf = np.array([c.confidence[i] for i in full], dtype=float)
        ax.bar(edges[full], acc, width=width[full], align="edge", color="tab:blue",
               edgecolor="k", lw=0.5, label="accuracy")
        ax.bar(edges[full], np.abs(cnf - acc), bottom=np.minimum(acc, cnf), width=width[full],
               align="edge",
               color="tab:red", alpha=0.35, edgecolor="tab:red", lw=0.5, label="gap")
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (top-label probability)")
        ax.set_ylabel("accuracy in bin")
        ax.set_title(f"{name}: ECE = {c.ece:.3f} (n = {c.n_samples})", fontsize=9)
        ax.legend(loc="upper left", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
