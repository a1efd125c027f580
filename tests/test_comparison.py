"""The typed comparison result and its statistics, on planted predictions (nothing trained)."""
import math
from dataclasses import replace

import numpy as np
import pytest

from bpnet.comparison import (
    ComparisonResult,
    DataSummary,
    ModelRun,
    Normalisation,
    OptimiserRun,
    PruningCurve,
    Splits,
    Studies,
    constant_prediction_mse,
)
from bpnet.comparison_stats import diagnose, fold_metrics, summarise
from bpnet.results import CVResult, FoldResult
from bpnet.splits import make_splits

N_CLASSES = 7


def _run(name, y, splits, accuracy, rng, curves=None, train_accuracy=0.9):
    """A model whose out-of-fold predictions are right with probability ``accuracy``."""
    folds = []
    for tr, te in splits:
        right = rng.random(len(te)) < accuracy
        pred = np.where(right, y[te], (y[te] + 1 + rng.integers(0, N_CLASSES - 1, len(te)))
                        % N_CLASSES)
        proba = np.full((len(te), N_CLASSES), 0.05)
        proba[np.arange(len(te)), pred] = 0.7
        folds.append(FoldResult(te, y[te], pred, proba, len(tr), train_accuracy,
                                {} if curves is None else curves))
    result = CVResult(name, folds, tuple(f"c{i}" for i in range(N_CLASSES)), len(y),
                      [f"s{i}" for i in range(len(y))], {"loss": "mse"}, {})
    n = len(splits)
    return ModelRun(name, f"{name}, planted", "features", {"lr": 0.01}, "planted", result,
                    (1.5,) * n, (100,) * n, (0.01,) * n, tuple({} for _ in range(n)))


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(N_CLASSES), 40)
    groups = np.arange(len(y)) % 20
    splits = make_splits("group", y, groups, 5, 0, repeats=2)
    models = [_run("good", y, splits, 0.6, rng), _run("chance", y, splits, 1 / 7, rng),
              _run("poor", y, splits, 0.2, rng)]
    stats = summarise(models, y, groups, repeats=2, grouped=True, chance=1 / 7, n_boot=499)
    return y, groups, splits, models, stats


def test_summarise_finds_the_planted_winner_and_holm_adjusts_every_test(planted):
    y, groups, splits, models, stats = planted
    assert stats.best == "good"
    assert len(stats.pairs) == 3 and {p.n_pairs for p in stats.pairs} == {3}
    good_vs_chance = next(p for p in stats.pairs if {p.model_a, p.model_b} == {"good", "chance"})
    assert good_vs_chance.t_p_holm < 0.05 and good_vs_chance.mcnemar_p_holm < 0.05
    assert good_vs_chance.bootstrap is not None  # grouped split: the bootstrap over groups
    assert stats.friedman is not None and stats.friedman.mean_ranks[0] < 1.5
    acc, lo, hi = stats.metrics[0].metric("accuracy")
    assert lo < acc < hi and 0.5 < acc < 0.7


def test_fold_metrics_match_their_definitions():
    y = np.array([0, 0, 0, 1, 1, 2])
    pred = np.array([0, 0, 1, 1, 1, 0])
    proba = np.eye(3)[pred]
    m = fold_metrics(y, pred, proba, 3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    po, pe = 4 / 6, (3 * 3 + 2 * 3 + 1 * 0) / 36
    assert m["kappa"] == pytest.approx((po - pe) / (1 - pe))
    assert m["ece"] == pytest.approx(1 - 4 / 6)  # all confidence 1, accuracy 4/6


def test_the_constant_prediction_loss_is_6_49_for_seven_equal_classes():
    assert constant_prediction_mse([10] * 7) == pytest.approx(6 / 49)
    assert constant_prediction_mse([30, 10]) == pytest.approx((0.75 * 0.25 * 2) / 2)


def test_diagnosis_tells_under_trained_from_under_fitting():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(N_CLASSES), 10)
    splits = make_splits("stratified", y, None, 2, 0)
    falling = np.linspace(2, 1, 20)[:, None] * np.ones((1, 2))  # lowest in the last epoch
    rising = np.linspace(0.2, 0.4, 20)[:, None] * np.ones((1, 2))
    curves = {"test_loss": falling[:, 0].tolist(), "test_accuracy": rising[:, 0].tolist()}
    run = _run("young", y, splits, 0.3, rng, curves, train_accuracy=0.35)
    assert diagnose(run, 1 / 7).verdict.startswith("under-trained")
    flat = {"test_loss": [1.0] * 20, "test_accuracy": [0.3] * 20}
    run = _run("weak", y, splits, 0.3, rng, flat, train_accuracy=0.35)
    assert diagnose(run, 1 / 7).verdict.startswith("under-fitting")
    run = _run("memoriser", y, splits, 0.3, rng, flat, train_accuracy=0.95)
    assert diagnose(run, 1 / 7).verdict == "over-fitting"
    up = {"test_loss": np.r_[np.full(5, 1.5), np.linspace(1, 2, 15)].tolist(),
          "test_accuracy": [0.65] * 20}
    run = _run("turning", y, splits, 0.65, rng, up, train_accuracy=0.7)
    assert "over-fitting" in diagnose(run, 1 / 7).verdict


def test_the_result_round_trips_exactly_through_json(planted):
    y, groups, splits, models, stats = planted
    hist = ((1.0, 2.0), (0.0, 0.5, 1.0))
    studies = Studies({"n_hidden": 32}, Normalisation(("a",), (True,), (0.5,), (hist,), (hist,)),
                      (OptimiserRun("SGD", 1.0, (0.2, 0.13), (0.01, 0.0), 0.14),),
                      (PruningCurve("32 units", 32, (0.0,), (None,), (None,), (0.2,), 0.0),),
                      6 / 49)
    counts = tuple(int(c) for c in np.bincount(y))
    res = ComparisonResult(
        {"split": "group", "quick": False}, {"numpy": np.__version__},
        DataSummary("planted", len(y), tuple(f"c{i}" for i in range(N_CLASSES)), counts, 20,
                    1 / 7, ("a note",), False),
        Splits("group", 5, 2, 0, tuple(tuple(f"s{i}" for i in te) for _, te in splits)),
        tuple(models), studies, stats, None, {"total_seconds": 1.0})
    text = res.to_json()
    again = ComparisonResult.from_json(text)
    assert again.to_json() == text
    assert again.statistics == res.statistics  # the typed statistics compare equal
    assert again.studies == res.studies and again.data == res.data
    # every block ranking the models alike gives an infinite F: it reads back as inf
    inf_stats = replace(stats, friedman=replace(stats.friedman, f_stat=math.inf))
    text = replace(res, statistics=inf_stats).to_json()
    assert ComparisonResult.from_json(text).statistics.friedman.f_stat == math.inf
    with pytest.raises(ValueError, match="not a comparison result"):
        ComparisonResult.from_dict({"format": "something else"})
