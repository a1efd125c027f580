"""Tests for bpnet.metrics, with scikit-learn as the oracle."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from bpnet.metrics import (
    ClassMetrics,
    accuracy,
    accuracy_mean_std,
    confusion_matrix,
    format_confusion,
    format_table,
    per_class_metrics,
    pool_confusion,
)


def _sk_prfs(t, p, c):
    return skm.precision_recall_fscore_support(
        t, p, labels=np.arange(c), zero_division=0, average=None
    )


@st.composite
def label_pairs(draw):
    """(y_true, y_pred, C): C up to 7, some classes absent or never predicted."""
    c = draw(st.integers(1, 7))
    n = draw(st.integers(1, 40))
    # Restricting each vector to a random subset of classes makes absent and
    # never-predicted classes common rather than rare.
    true_set = draw(st.lists(st.integers(0, c - 1), min_size=1, max_size=c, unique=True))
    pred_set = draw(st.lists(st.integers(0, c - 1), min_size=1, max_size=c, unique=True))
    t = draw(st.lists(st.sampled_from(true_set), min_size=n, max_size=n))
    p = draw(st.lists(st.sampled_from(pred_set), min_size=n, max_size=n))
    return np.array(t), np.array(p), c


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_labels_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    c = 7
    t = rng.integers(0, c, 300)
    p = np.where(rng.random(300) < 0.5, t, rng.integers(0, c, 300))
    np.testing.assert_array_equal(
        confusion_matrix(t, p, c), skm.confusion_matrix(t, p, labels=np.arange(c))
    )
    assert accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    m = per_class_metrics(t, p, c)
    prec, rec, f1, sup = _sk_prfs(t, p, c)
    np.testing.assert_allclose(m.precision, prec)
    np.testing.assert_allclose(m.recall, rec)
    np.testing.assert_allclose(m.f1, f1)
    np.testing.assert_array_equal(m.support, sup)
    # the imbalance-aware summaries the comparison reports
    assert m.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(t, p))
    assert m.kappa == pytest.approx(skm.cohen_kappa_score(t, p))
    assert m.macro["f1"] == pytest.approx(skm.f1_score(t, p, average="macro"))


def test_balanced_accuracy_and_kappa_by_hand():
    # 8 of class 0 (6 right), 2 of class 1 (1 right): accuracy 0.7, recalls 0.75 and 0.5
    cm = np.array([[6, 2], [1, 1]])
    m = per_class_metrics(cm=cm)
    assert m.balanced_accuracy == pytest.approx(0.625)
    p_e = (8 * 7 + 2 * 3) / 100  # row x column marginals
    assert m.kappa == pytest.approx((0.7 - p_e) / (1 - p_e))
    always_majority = per_class_metrics(cm=np.array([[8, 0], [2, 0]]))
    assert always_majority.accuracy == 0.8 and always_majority.kappa == 0.0
    assert always_majority.balanced_accuracy == 0.5  # chance, whatever the imbalance
    # a class absent from y_true is left out of balanced accuracy, not counted as 0
    assert per_class_metrics([0, 0, 1], [0, 0, 1], 3).balanced_accuracy == 1.0
    assert per_class_metrics(cm=np.array([[3, 0], [0, 0]])).kappa == 0.0  # p_e = 1


# scikit-learn itself warns about single-label inputs; ours must stay silent.
@pytest.mark.filterwarnings("ignore:A single label:UserWarning")
@settings(max_examples=150, deadline=None)
@given(label_pairs())
def test_hypothesis_labels_match_sklearn(data):
    t, p, c = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zero division must be silent
        cm = confusion_matrix(t, p, c)
        m = per_class_metrics(t, p, c)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(t, p, labels=np.arange(c)))
    prec, rec, f1, sup = _sk_prfs(t, p, c)
    np.testing.assert_allclose(m.precision, prec, atol=1e-12)
    np.testing.assert_allclose(m.recall, rec, atol=1e-12)
    np.testing.assert_allclose(m.f1, f1, atol=1e-12)
    np.testing.assert_array_equal(m.support, sup)
    macro = skm.precision_recall_fscore_support(
        t, p, labels=np.arange(c), zero_division=0, average="macro"
    )
    assert m.macro["precision"] == pytest.approx(macro[0])
    assert m.macro["recall"] == pytest.approx(macro[1])
    assert m.macro["f1"] == pytest.approx(macro[2])
    assert m.accuracy == pytest.approx(skm.accuracy_score(t, p))
    assert np.all((m.specificity >= 0) & (m.specificity <= 1))


def test_specificity_hand_computed():
    # Hand-built 3-class matrix (rows true, cols pred), 20 samples.
    cm = np.array([[5, 1, 0],
                   [2, 6, 1],
                   [0, 1, 4]])
    m = per_class_metrics(cm=cm)
    # class 0: TN = 6+1+1+4 = 12, FP = 2    -> 12/14
    # class 1: TN = 5+0+0+4 = 9,  FP = 1+1  -> 9/11
    # class 2: TN = 5+1+2+6 = 14, FP = 0+1  -> 14/15
    np.testing.assert_allclose(m.specificity, [12 / 14, 9 / 11, 14 / 15])
    np.testing.assert_allclose(m.precision, [5 / 7, 6 / 8, 4 / 5])
    np.testing.assert_allclose(m.recall, [5 / 6, 6 / 9, 4 / 5])
    np.testing.assert_array_equal(m.support, [6, 9, 5])
    assert m.accuracy == pytest.approx(15 / 20)
    assert m.macro["specificity"] == pytest.approx(np.mean([12 / 14, 9 / 11, 14 / 15]))


def test_zero_division_defined_as_zero():
    # Class 2 absent from y_true and never predicted; class 1 never predicted.
    t = np.array([0, 0, 1, 1])
    p = np.array([0, 0, 0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = per_class_metrics(t, p, n_classes=3)
    np.testing.assert_array_equal(m.precision, [0.5, 0.0, 0.0])
    np.testing.assert_array_equal(m.recall, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(m.f1[1:], [0.0, 0.0])
    # Specificity of class 0 has no negatives predicted correctly: 0/2.
    np.testing.assert_array_equal(m.specificity, [0.0, 1.0, 1.0])
    # A single class with every sample in it has no negatives at all.
    assert per_class_metrics([0, 0], [0, 0]).specificity[0] == 0.0


def test_labels_from_cm_equal_labels_from_vectors():
    rng = np.random.default_rng(3)
    t, p = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
    a = per_class_metrics(t, p, 4)
    b = per_class_metrics(cm=confusion_matrix(t, p, 4))
    for name in ("precision", "recall", "specificity", "f1", "support"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_class_metrics_is_frozen():
    cm = np.array([[2, 1], [0, 3]])
    m = per_class_metrics(cm=cm)
    assert isinstance(m, ClassMetrics)
    with pytest.raises(AttributeError):
        m.precision = np.zeros(2)  # type: ignore[misc]
    with pytest.raises(ValueError):
        m.precision[0] = 1.0
    cm[0, 0] = 100  # the caller's array is not aliased
    assert m.confusion[0, 0] == 2


@pytest.mark.parametrize(
    "t, p, c, match",
    [
        ([0, 1], [0], None, "length"),
        ([], [], None, "empty"),
        ([0, -1], [0, 0], None, "non-negative"),
        ([0, 3], [0, 0], 3, "out of range"),
        ([0, 1], [0, 1], 0, "n_classes"),
        ([0.5, 1], [0, 1], None, "integer"),
        ([[0, 1]], [[0, 1]], None, "1-D"),
    ],
)
def test_errors(t, p, c, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(t, p, c)


def test_cm_errors():
    with pytest.raises(ValueError, match="square"):
        per_class_metrics(cm=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="not both"):
        per_class_metrics([0], [0], cm=np.eye(2))
    with pytest.raises(ValueError, match="y_true and y_pred"):
        per_class_metrics([0, 1])


def test_pooling_and_fold_accuracy():
    rng = np.random.default_rng(4)
    folds = [(rng.integers(0, 3, 20), rng.integers(0, 3, 20)) for _ in range(5)]
    cms = [confusion_matrix(t, p, 3) for t, p in folds]
    all_t = np.concatenate([t for t, _ in folds])
    all_p = np.concatenate([p for _, p in folds])
    np.testing.assert_array_equal(pool_confusion(cms), confusion_matrix(all_t, all_p, 3))
    accs = [accuracy(t, p) for t, p in folds]
    mean, std = accuracy_mean_std(cms)
    assert mean == pytest.approx(np.mean(accs))
    assert std == pytest.approx(np.std(accs, ddof=1))
    assert accuracy_mean_std(cms[:1]) == (pytest.approx(accs[0]), 0.0)
    with pytest.raises(ValueError, match="empty"):
        accuracy_mean_std(np.zeros((2, 3, 3)))


def test_format_table_numbers_and_markdown():
    cm = np.array([[5, 1, 0], [2, 6, 1], [0, 1, 4]])
    m = per_class_metrics(cm=cm)
    names = ["angry", "happy", "sad"]
    text = format_table(m, names, digits=3)
    lines = text.splitlines()
    assert len(lines) == 2 + 3 + 1  # header, rule, classes, macro
    assert lines[2].split() == ["angry", "0.714", "0.833", "0.857", "0.769", "6"]
    assert lines[-1].startswith("macro avg") and lines[-1].endswith("20")
    assert f"{m.macro['f1']:.3f}" in lines[-1]
    # Aligned: every row has the same width as the header.
    assert len({len(line) for line in lines[:1] + lines[2:]}) == 1

    md = format_table(m, names, fmt="markdown", digits=2)
    md_lines = md.splitlines()
    assert len(md_lines) == 2 + 3 + 1
    assert all(line.startswith("|") and line.endswith("|") for line in md_lines)
    assert {line.count("|") for line in md_lines} == {7}  # 6 columns
    assert md_lines[2] == "| angry | 0.71 | 0.83 | 0.86 | 0.77 | 6 |"


def test_format_confusion():
    cm = np.array([[5, 1, 0], [2, 6, 1], [0, 1, 4]])
    text = format_confusion(cm, ["a", "b", "c"])
    assert text.splitlines()[3].split() == ["b", "2", "6", "1"]
    md = format_confusion(cm, ["a", "b", "c"], fmt="markdown", normalize=True)
    md_lines = md.splitlines()
    assert {line.count("|") for line in md_lines} == {5}  # label + 3 classes
    assert md_lines[3] == "| b | 0.22 | 0.67 | 0.11 |"
    with pytest.raises(ValueError, match="class names"):
        format_confusion(cm, ["a", "b"])
    with pytest.raises(ValueError, match="fmt"):
        format_confusion(cm, fmt="latex")  # type: ignore[arg-type]
