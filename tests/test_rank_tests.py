"""Friedman, Nemenyi and the critical-difference diagram (bpnet.rank_tests), on simulated scores."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import stats as st

from bpnet.rank_tests import (
    FriedmanTest,
    _cliques,
    friedman,
    nemenyi_q,
    plot_critical_difference,
    smallest_p_friedman,
)


def test_friedman_matches_scipy_with_ties_and_iman_davenport_by_hand():
    rng = np.random.default_rng(0)
    scores = np.round(rng.random((12, 4)), 1)  # one decimal: many ties within blocks
    res = friedman(scores, ["a", "b", "c", "d"])
    ref = st.friedmanchisquare(*scores.T)
    assert res.chi2 == pytest.approx(ref.statistic)
    assert res.p_chi2 == pytest.approx(ref.pvalue)
    n, k = scores.shape
    f = (n - 1) * res.chi2 / (n * (k - 1) - res.chi2)
    assert res.f_stat == pytest.approx(f)
    assert res.p_value == pytest.approx(st.f.sf(f, k - 1, (k - 1) * (n - 1)))
    ranks = st.rankdata(-scores, axis=1)
    assert res.mean_ranks == pytest.approx(ranks.mean(0))
    assert sum(res.mean_ranks) == pytest.approx(k * (k + 1) / 2)


def test_nemenyi_critical_values_are_demsars_table():
    # Demšar 2006, Table 5(a), alpha = 0.05
    for k, q in [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (10, 3.164)]:
        assert nemenyi_q(k) == pytest.approx(q, abs=1e-3)
    res = friedman(np.random.default_rng(1).random((20, 5)))
    assert res.critical_difference == pytest.approx(2.728 * math.sqrt(5 * 6 / (6 * 20)), rel=1e-3)


def test_a_consistently_best_model_ranks_first_and_differs_from_the_worst():
    rng = np.random.default_rng(2)
    scores = rng.normal(0.3, 0.02, (25, 3)) + np.array([0.05, 0.0, -0.05])
    res = friedman(scores, ["good", "mid", "bad"])
    assert np.argmin(res.mean_ranks) == 0 and res.p_value < 1e-6
    assert res.nemenyi_p[0][2] < 0.05 and res.nemenyi_p[0][2] == res.nemenyi_p[2][0]
    assert res.mean_ranks[2] - res.mean_ranks[0] > res.critical_difference


@pytest.mark.parametrize("n_blocks, n_models", [(10, 4), (5, 3)])
def test_type_one_error_of_friedman_and_nemenyi(n_blocks, n_models):
    # Exchangeable models: every block's accuracies are draws of one binomial (675/5 test
    # samples), so ties happen as with real fold accuracies.
    rng = np.random.default_rng(n_blocks)
    f_rej = nemenyi_rej = 0
    runs = 600
    for _ in range(runs):
        p = rng.uniform(0.2, 0.5, (n_blocks, 1))
        res = friedman(rng.binomial(135, np.broadcast_to(p, (n_blocks, n_models))) / 135)
        f_rej += res.p_value < 0.05
        nemenyi_rej += min(min(row) for row in res.nemenyi_p) < 0.05  # family-wise
    assert 0.03 <= f_rej / runs <= 0.07, f_rej / runs
    assert 0.02 <= nemenyi_rej / runs <= 0.07, nemenyi_rej / runs  # Nemenyi: a bit conservative


def test_smallest_p_is_the_exact_permutation_floor():
    assert smallest_p_friedman(5, 2) == pytest.approx(0.0625)  # two models: the sign test
    assert smallest_p_friedman(5, 3) == pytest.approx(6.0 ** -4)
    same_order = np.tile([0.4, 0.3], (5, 1))
    res = friedman(same_order)
    assert res.chi2 == pytest.approx(5.0)  # N (k - 1): the most extreme value
    assert res.p_value == 0.0 and res.p_chi2 < 0.05  # the approximations go below the floor
    assert res.smallest_p == pytest.approx(0.0625) and not res.can_reach(0.05)
    assert friedman(np.tile([0.4, 0.3, 0.2], (5, 1))).can_reach(0.05)


def test_all_ties_and_bad_input():
    res = friedman(np.full((6, 3), 0.25))
    assert res.chi2 == 0.0 and res.p_value == 1.0
    with pytest.raises(ValueError, match="N, k >= 2"):
        friedman(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="model names"):
        friedman(np.zeros((4, 3)), ["a", "b"])


def test_cliques_are_maximal_runs_within_the_critical_difference():
    ranks = np.array([1.0, 1.5, 2.2, 3.5, 3.9])
    assert _cliques(ranks, 1.25) == [(0, 2), (3, 4)]
    assert _cliques(ranks, 3.0) == [(0, 4)]
    assert _cliques(ranks, 0.1) == []
    assert _cliques(np.array([1.0, 2.0, 2.5, 3.1]), 1.2) == [(0, 1), (1, 3)]


def test_critical_difference_diagram_names_every_model():
    rng = np.random.default_rng(4)
    res = friedman(rng.random((10, 4)) + [0.3, 0.2, 0.1, 0.0], ["bp", "resnet", "svm", "knn"])
    fig = plot_critical_difference(res, title="4 models")
    assert isinstance(fig, Figure)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for name in res.models:
        assert name in texts
    assert f"CD = {res.critical_difference:.2f}" in texts


def test_result_round_trips_through_json():
    res = friedman(np.random.default_rng(5).random((6, 3)), ["a", "b", "c"])
    back = FriedmanTest.from_dict(json.loads(json.dumps(res.to_dict())))
    assert back == res and isinstance(back.nemenyi_p[0], tuple)
