"""Every pair of several models, tested on the same R x K folds, with Holm's correction.

One call runs, for each pair, the tests of :mod:`bpnet.stats` and
:mod:`bpnet.prediction_tests` that the inputs allow, and adjusts each test's p-values over
the pairs with :func:`bpnet.stats.holm`; :func:`bpnet.rank_tests.friedman` covers all
models at once. A report reads the returned objects and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike

from .prediction_tests import GroupBootstrap, McNemarTest, group_bootstrap, mcnemar
from .stats import ResampledTTest, corrected_resampled_t, holm

__all__ = ["PairComparison", "compare_pairs"]


@dataclass(frozen=True)
class PairComparison:
    """The tests of one pair of models; differences are ``model_a - model_b``.

    Attributes
    ----------
    model_a, model_b : str
    t_test : ResampledTTest
        The Nadeau-Bengio corrected resampled t over the R x K folds.
    t_p_holm : float
        Its p-value adjusted over all pairs (Holm).
    mcnemar, mcnemar_p_holm : McNemarTest and float, or None
        The exact McNemar test over the repeats' out-of-fold predictions, when given.
    bootstrap, bootstrap_p_holm : GroupBootstrap and float, or None
        The bootstrap over groups, when predictions and groups are given.
    n_pairs : int
        The number of pairs Holm adjusted over (m).

    Notes
    -----
    Holm multiplies the smallest of the m p-values by m, so an adjusted p of a test can
    reach ``alpha`` only if ``m * smallest_p < alpha``: :meth:`can_reach` checks that.
    """

    model_a: str
    model_b: str
    t_test: ResampledTTest
    t_p_holm: float
    mcnemar: McNemarTest | None
    mcnemar_p_holm: float | None
    bootstrap: GroupBootstrap | None
    bootstrap_p_holm: float | None
    n_pairs: int

    def can_reach(self, test: str, alpha: float = 0.05) -> bool:
        """Whether ``test`` ("t_test", "mcnemar", "bootstrap") could give a Holm p < alpha."""
        result = getattr(self, test)
        return result is not None and self.n_pairs * result.smallest_p < alpha

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; the nested results as their own ``to_dict``."""
        d: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            d[name] = value.to_dict() if hasattr(value, "to_dict") else value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PairComparison":
        """Rebuild from :meth:`to_dict`'s output."""
        kinds = {"t_test": ResampledTTest, "mcnemar": McNemarTest, "bootstrap": GroupBootstrap}
        args = {k: (kinds[k].from_dict(v) if k in kinds and v is not None else v)
                for k, v in d.items()}
        return cls(**args)


def compare_pairs(
    fold_accuracy: Mapping[str, ArrayLike],
    n_train: float,
    n_test: float,
    *,
    y_true: ArrayLike | None = None,
    predictions: Mapping[str, ArrayLike] | None = None,
    groups: ArrayLike | None = None,
    n_boot: int = 9999,
    seed: int = 0,
) -> tuple[PairComparison, ...]:
    """Test every pair of models on the same folds, with Holm's correction over the pairs.

    Parameters
    ----------
    fold_accuracy : mapping of model name -> (R, K) array-like
        Each model's test accuracy on every (repeat, fold); all on the same splits.
    n_train, n_test : float
        Training and test rows of one fold (means if the folds differ).
    y_true : (n_samples,) array-like, optional
    predictions : mapping of model name -> (R, n_samples) array-like, optional
        Out-of-fold predictions of each repeat; with ``y_true`` they add McNemar's test.
    groups : (n_samples,) array-like, optional
        The group (movie) of each sample; with predictions they add the bootstrap over
        groups (use it when the split was grouped).
    n_boot : int, default 9999
    seed : int, default 0
        Seed of the bootstrap (the same for every pair).

    Returns
    -------
    tuple of PairComparison
        One per pair, in the order of ``itertools.combinations`` over the names.
    """
    names = list(fold_accuracy)
    if len(names) < 2:
        raise ValueError(f"need at least 2 models to compare, got {len(names)}")
    acc = {m: np.asarray(fold_accuracy[m], dtype=np.float64) for m in names}
    shapes = {a.shape for a in acc.values()}
    if len(shapes) != 1:
        raise ValueError(f"the models' fold accuracies differ in shape: {sorted(shapes)}")
    if predictions is not None:
        if y_true is None:
            raise ValueError("predictions need y_true")
        missing = [m for m in names if m not in predictions]
        if missing:
            raise ValueError(f"no predictions for {missing}")
    pairs = list(combinations(names, 2))
    t = [corrected_resampled_t(acc[a] - acc[b], n_train, n_test) for a, b in pairs]
    mc = bs = None
    if predictions is not None:
        mc = [mcnemar(y_true, predictions[a], predictions[b]) for a, b in pairs]
        if groups is not None:
            bs = [group_bootstrap(y_true, predictions[a], predictions[b], groups,
                                  n_boot=n_boot, seed=seed) for a, b in pairs]

    def adjusted(results):
        if results is None:
            return [None] * len(pairs)
        return [float(p) for p in holm([r.p_value for r in results])]

    t_holm, mc_holm, bs_holm = adjusted(t), adjusted(mc), adjusted(bs)
    return tuple(
        PairComparison(a, b, t[i], t_holm[i], None if mc is None else mc[i], mc_holm[i],
                       None if bs is None else bs[i], bs_holm[i], len(pairs))
        for i, (a, b) in enumerate(pairs))
