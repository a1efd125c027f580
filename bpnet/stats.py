"""Tests that compare two classifiers evaluated on the same cross-validation folds.

===============================================  ================================================
function                                         what it tests, and what varies in it
===============================================  ================================================
:func:`corrected_resampled_t`                    accuracy difference over R x k folds; the
                                                 training sets vary
:func:`~bpnet.prediction_tests.mcnemar`          out-of-fold predictions, sample by sample
:func:`~bpnet.prediction_tests.group_bootstrap`  the pooled difference, resampling whole groups
:func:`holm`                                     adjusts the p-values of several pairs
:func:`~bpnet.rank_tests.friedman`               all models at once, ranked in every fold
:func:`~bpnet.pairwise.compare_pairs`            the pairwise tests for every pair of models,
                                                 Holm-adjusted over the pairs
===============================================  ================================================

Every test returns a frozen result with ``to_dict``/``from_dict`` and a ``smallest_p``: the
smallest p-value the test could give with this run's folds, samples or resamples. A test whose
``smallest_p`` is not below the level (:meth:`SignificanceTest.can_reach`) cannot say
"significant" whatever the data, and a report should say so rather than print its p.
Throughout, a difference is model A minus model B and p-values are two-sided. The reasoning
behind each test is in the documentation page *Statistics for comparing models*.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

from .json_values import to_json_value

__all__ = [
    "JSONResult",
    "SignificanceTest",
    "ResampledTTest",
    "corrected_resampled_t",
    "holm",
    "smallest_p_wilcoxon",
]


class JSONResult:
    """Mixin of the frozen result types: JSON-ready ``to_dict`` and ``from_dict``.

    Fields hold Python scalars, strings, None or (nested) tuples of them, so the dict form
    is the field values with tuples as lists, and reading it back gives an equal object.
    """

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (tuples become lists; an unbounded statistic
        stays ``inf``, which Python's ``json`` writes and reads as ``Infinity``)."""
        return {f.name: to_json_value(getattr(self, f.name), finite=False)  # type: ignore[arg-type]
                for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "JSONResult":
        """Rebuild a result from :meth:`to_dict`'s output."""
        return cls(**{f.name: _tuplify(d[f.name]) for f in fields(cls)})  # type: ignore[arg-type,call-arg]


class SignificanceTest(JSONResult):
    """A test's result: it knows the smallest p the test could give with this run's sizes."""

    smallest_p: float

    def can_reach(self, alpha: float = 0.05) -> bool:
        """Whether this test, with this run's sizes, could give ``p < alpha`` at all."""
        return self.smallest_p < alpha


def _tuplify(v: Any) -> Any:
    return tuple(_tuplify(x) for x in v) if isinstance(v, list) else v


# --- corrected resampled t -----------------------------------------------------------------


@dataclass(frozen=True)
class ResampledTTest(SignificanceTest):
    """The mean accuracy difference over R x k folds with its t interval and p-value.

    Attributes
    ----------
    mean_difference : float
        Mean over all folds of ``acc_A - acc_B``.
    ci_low, ci_high : float
        The two-sided ``confidence`` interval of the difference.
    confidence : float
    statistic : float
        The t statistic (inf when every fold has the same non-zero difference).
    df : int
        Degrees of freedom, ``R * k - 1``.
    p_value : float
        Two-sided p of ``H0: difference = 0``.
    n_folds : int
        ``J = R * k``, the number of (repeat, fold) differences.
    test_train_ratio : float
        ``n_test / n_train`` used in the correction (0.0 for the plain t).
    corrected : bool
        True for the Nadeau-Bengio corrected variance, False for the plain paired t.
    smallest_p : float
        0.0: a t statistic is unbounded, so any p can be reached once ``J >= 2``.
    """

    mean_difference: float
    ci_low: float
    ci_high: float
    confidence: float
    statistic: float
    df: int
    p_value: float
    n_folds: int
    test_train_ratio: float
    corrected: bool
    smallest_p: float


def corrected_resampled_t(
    differences: ArrayLike,
    n_train: float,
    n_test: float,
    confidence: float = 0.95,
    corrected: bool = True,
) -> ResampledTTest:
    r"""Nadeau-Bengio corrected resampled t-test of a difference measured on R x k folds.

    Parameters
    ----------
    differences : (R, k) or (J,) array-like of float
        ``acc_A - acc_B`` on each (repeat, fold); both models must have used the same folds.
    n_train, n_test : float
        Training and test rows of one fold (for unequal folds, their means).
    confidence : float, default 0.95
    corrected : bool, default True
        False gives the plain paired t over folds, which is too narrow (see Notes); it is
        here so the two can be compared, not to be reported.

    Returns
    -------
    ResampledTTest

    Notes
    -----
    With :math:`J = R k` differences :math:`d_j`, mean :math:`\bar d` and sample variance
    :math:`s^2`, the corrected variance of :math:`\bar d` is

    .. math:: \hat\sigma^2 = \left(\frac{1}{J} + \frac{n_{test}}{n_{train}}\right) s^2

    and :math:`t = \bar d / \hat\sigma` has a t distribution with :math:`J - 1` degrees of
    freedom; the interval is :math:`\bar d \pm t_{J-1, 1-\alpha/2}\, \hat\sigma`. The plain t
    uses :math:`s^2 / J`, as if the folds were independent; they are not (any two share most
    of their training rows, and repeats reuse the same samples), so its interval shrinks
    with every repeat although no information is added. The term
    :math:`n_{test}/n_{train}` stands for that correlation (Nadeau & Bengio 2003, eq. 8,
    where it is a heuristic that tends to be conservative for stable learners); Bouckaert &
    Frank (2004) recommend it for repeated cross-validation, with :math:`R k - 1` degrees of
    freedom, as here.

    References
    ----------
    C. Nadeau and Y. Bengio, "Inference for the generalization error", Machine Learning
    52(3):239-281, 2003. R. R. Bouckaert and E. Frank, "Evaluating the replicability of
    significance tests for comparing learning algorithms", PAKDD 2004, LNCS 3056:3-12.
    """
    d = np.asarray(differences, dtype=np.float64).ravel()
    if d.size < 2 or not np.all(np.isfinite(d)):
        raise ValueError(f"need at least 2 finite differences, got {d.size}")
    if not (n_train > 0 and n_test > 0):
        raise ValueError(f"n_train and n_test must be positive, got {n_train}, {n_test}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    j = d.size
    ratio = float(n_test) / float(n_train) if corrected else 0.0
    mean = float(d.mean())
    se = math.sqrt((1.0 / j + ratio) * float(d.var(ddof=1)))
    if se > 0:
        t = mean / se
    else:  # every fold gives the same difference: no spread to test against
        t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
    q = float(_st.t.ppf(0.5 + confidence / 2, j - 1))
    p = float(2 * _st.t.sf(abs(t), j - 1))
    return ResampledTTest(mean, mean - q * se, mean + q * se, float(confidence), float(t), j - 1,
                          p, j, ratio, bool(corrected), 0.0)


def smallest_p_wilcoxon(n_pairs: int) -> float:
    """Smallest two-sided p of the exact Wilcoxon signed-rank test on ``n_pairs`` differences.

    All differences of one sign give the extreme rank sum, which has probability
    :math:`2^{-n}` under H0, so the two-sided p is at least :math:`2^{1-n}`: 0.0625 with 5
    folds, so that 5-fold Wilcoxon can never give p < 0.05 (with 6 folds, 0.03125).
    """
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    return min(1.0, 2.0 ** (1 - n_pairs))


# --- several pairs ----------------------------------------------------------------------------


def holm(p_values: Sequence[float] | ArrayLike) -> np.ndarray:
    r"""Holm's step-down adjustment of m p-values (family-wise error rate control).

    Parameters
    ----------
    p_values : (m,) array-like of float in [0, 1]

    Returns
    -------
    (m,) float ndarray
        Adjusted p-values in the input order; reject H_i at level alpha when
        ``adjusted[i] < alpha``.

    Notes
    -----
    With the p-values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`, the adjusted values are
    :math:`\tilde p_{(i)} = \max_{j \le i} \min\{1, (m - j + 1)\, p_{(j)}\}`. Under any
    dependence between the tests, the chance of at least one false rejection is at most
    alpha, and Holm rejects everything Bonferroni does, and often more.

    References
    ----------
    S. Holm, "A simple sequentially rejective multiple test procedure", Scandinavian
    Journal of Statistics 6(2):65-70, 1979.
    """
    p = np.asarray(p_values, dtype=np.float64).ravel()
    if p.size and (np.any(~np.isfinite(p)) or p.min() < 0 or p.max() > 1):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.maximum.accumulate(stepped)
    return out
