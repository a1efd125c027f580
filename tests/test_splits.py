"""Tests for bpnet.splits."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from bpnet.splits import (
    fold_masks,
    group_kfold,
    make_splits,
    repeat_seeds,
    repeated_kfold,
    stratified_holdout,
    stratified_kfold,
)


def _labels(seed: int, n: int = 700, c: int = 7) -> np.ndarray:
    """Imbalanced labels, roughly like SFEW's 7 expression classes."""
    rng = np.random.default_rng(seed)
    # Half uniform keeps every class above 20 members (no small-class warning).
    p = 0.5 / c + 0.5 * rng.dirichlet(np.full(c, 3.0))
    return rng.choice(c, size=n, p=p)


def _assert_disjoint_cover(tr, te, n):
    assert tr.dtype == te.dtype == np.int64
    assert np.all(np.diff(tr) > 0) and np.all(np.diff(te) > 0)  # sorted
    assert np.intersect1d(tr, te).size == 0
    np.testing.assert_array_equal(np.union1d(tr, te), np.arange(n))


def _assert_partition(splits, n):
    tested = np.concatenate([te for _, te in splits])
    np.testing.assert_array_equal(np.sort(tested), np.arange(n))  # exactly once
    for tr, te in splits:
        _assert_disjoint_cover(tr, te, n)


def _same_splits(a, b):
    return all(
        np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
        for (tr1, te1), (tr2, te2) in zip(a, b)
    )


# --- stratified_kfold --------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("k", [5, 20])
def test_stratified_kfold_partition_and_proportions(seed, k):
    y = _labels(seed)
    splits = stratified_kfold(y, n_splits=k, seed=seed)
    assert len(splits) == k
    _assert_partition(splits, y.size)
    counts = np.array([np.bincount(y[te], minlength=7) for _, te in splits])
    ideal = np.bincount(y, minlength=7) / k
    assert np.all(np.abs(counts - ideal) < 1)
    sizes = counts.sum(axis=1)
    assert sizes.max() - sizes.min() <= 1


@pytest.mark.parametrize("seed", [0, 3])
def test_stratified_kfold_counts_match_sklearn(seed):
    y = _labels(seed)
    ours = stratified_kfold(y, n_splits=20, seed=seed)
    sk = StratifiedKFold(n_splits=20, shuffle=True, random_state=seed).split(np.zeros(y.size), y)
    for (_, te), (_, te_sk) in zip(ours, sk):
        np.testing.assert_array_equal(
            np.bincount(y[te], minlength=7), np.bincount(y[te_sk], minlength=7)
        )


def test_stratified_kfold_unshuffled_equals_sklearn():
    y = _labels(5, n=97)
    ours = stratified_kfold(y, n_splits=6, shuffle=False)
    sk = StratifiedKFold(n_splits=6).split(np.zeros(y.size), y)
    for (tr, te), (tr_sk, te_sk) in zip(ours, sk):
        np.testing.assert_array_equal(te, te_sk)
        np.testing.assert_array_equal(tr, tr_sk)


def test_stratified_kfold_seeding():
    y = _labels(0)
    a = stratified_kfold(y, 10, seed=7)
    assert _same_splits(a, stratified_kfold(y, 10, seed=7))
    assert _same_splits(a, stratified_kfold(y, 10, seed=np.random.default_rng(7)))
    assert not _same_splits(a, stratified_kfold(y, 10, seed=8))
    state = np.random.get_state()[1].copy()
    stratified_kfold(y, 10, seed=1)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global RNG untouched


def test_stratified_kfold_string_labels():
    y = np.array(["angry", "happy", "sad"] * 10)
    splits = stratified_kfold(y, n_splits=5)
    _assert_partition(splits, y.size)
    for _, te in splits:
        assert sorted(np.unique(y[te], return_counts=True)[1]) == [2, 2, 2]


def test_stratified_kfold_small_class_warns_and_errors():
    y = np.array([0] * 10 + [1] * 2)
    with pytest.warns(UserWarning, match="least populated"):
        splits = stratified_kfold(y, n_splits=4)
    _assert_partition(splits, y.size)
    with pytest.raises(ValueError, match="greater than the number of samples"):
        stratified_kfold(y, n_splits=13)
    with pytest.raises(ValueError, match="n_splits"):
        stratified_kfold(y, n_splits=1)
    with pytest.raises(ValueError, match="1-D"):
        stratified_kfold(np.zeros((3, 2)))


# --- group_kfold -------------------------------------------------------------


def _grouped(seed: int, n_groups: int = 60):
    """Samples in groups of uneven size; each group leans towards one class."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 15, n_groups)
    groups = np.repeat([f"movie{g:03d}" for g in range(n_groups)], sizes)
    lean = np.repeat(rng.integers(0, 7, n_groups), sizes)
    y = np.where(rng.random(groups.size) < 0.7, lean, rng.integers(0, 7, groups.size))
    return y, groups


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_group_kfold_groups_never_split(seed):
    y, groups = _grouped(seed)
    splits = group_kfold(y, groups, n_splits=5, seed=seed)
    _assert_partition(splits, y.size)
    for tr, te in splits:
        assert np.intersect1d(groups[tr], groups[te]).size == 0


def test_group_kfold_balance():
    y, groups = _grouped(0, n_groups=100)
    splits = group_kfold(y, groups, n_splits=5, seed=0)
    sizes = np.array([te.size for _, te in splits])
    biggest_group = np.unique(groups, return_counts=True)[1].max()
    assert sizes.max() - sizes.min() <= biggest_group
    # Class proportions per fold stay close to the overall ones.
    overall = np.bincount(y, minlength=7) / y.size
    for _, te in splits:
        assert np.abs(np.bincount(y[te], minlength=7) / te.size - overall).max() < 0.08


def test_group_kfold_int_groups_and_no_y():
    groups = np.repeat(np.arange(10), 3)
    splits = group_kfold(None, groups, n_splits=5, seed=0)
    _assert_partition(splits, groups.size)
    assert [te.size for _, te in splits] == [6] * 5


def test_group_kfold_seeding():
    y, groups = _grouped(4)
    a = group_kfold(y, groups, 5, seed=3)
    assert _same_splits(a, group_kfold(y, groups, 5, seed=3))
    assert not _same_splits(a, group_kfold(y, groups, 5, seed=4))


def test_group_kfold_errors():
    with pytest.raises(ValueError, match="3 groups"):
        group_kfold([0, 1, 0], ["a", "b", "c"], n_splits=4)
    with pytest.raises(ValueError, match="length"):
        group_kfold([0, 1], ["a", "b", "c"], n_splits=2)


# --- stratified_holdout ------------------------------------------------------


@pytest.mark.parametrize("test_size", [0.2, 0.33, 50])
def test_stratified_holdout(test_size):
    y = _labels(2)
    tr, te = stratified_holdout(y, test_size=test_size, seed=0)
    _assert_disjoint_cover(tr, te, y.size)
    n_test = test_size if isinstance(test_size, int) else int(np.ceil(test_size * y.size))
    assert te.size == n_test
    ideal = np.bincount(y, minlength=7) * n_test / y.size
    assert np.all(np.abs(np.bincount(y[te], minlength=7) - ideal) < 1)
    tr2, te2 = stratified_holdout(y, test_size=test_size, seed=0)
    np.testing.assert_array_equal(te, te2)
    assert not np.array_equal(te, stratified_holdout(y, test_size=test_size, seed=1)[1])


@pytest.mark.parametrize("bad", [0.0, 1.0, 0, 700, True, "0.2"])
def test_stratified_holdout_errors(bad):
    with pytest.raises(ValueError, match="test"):
        stratified_holdout(_labels(2), test_size=bad)


# --- fold_masks --------------------------------------------------------------


def test_fold_masks():
    y = _labels(1, n=400)
    splits = stratified_kfold(y, n_splits=20, seed=0)
    train, test = fold_masks(splits, y.size)
    assert train.shape == test.shape == (20, 400)
    assert train.dtype == test.dtype == bool
    np.testing.assert_array_equal(train, ~test)
    np.testing.assert_array_equal(test.sum(axis=0), np.ones(400))  # tested once
    for k, (tr, te) in enumerate(splits):
        np.testing.assert_array_equal(np.flatnonzero(train[k]), tr)
        np.testing.assert_array_equal(np.flatnonzero(test[k]), te)


def test_fold_masks_holdout_and_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train, test = fold_masks([stratified_holdout(_labels(0, n=40), seed=0)], 40)
    assert train.shape == (1, 40) and test.sum() == 8
    with pytest.raises(ValueError, match="out of range"):
        fold_masks([(np.array([0, 1]), np.array([5]))], 5)
    with pytest.raises(ValueError, match="both train and test"):
        fold_masks([(np.array([0, 1]), np.array([1, 2]))], 3)


# --- make_splits: the one place a split is chosen ---------------------------------------
def test_make_splits_is_the_splitter_it_names():
    y = _labels(0, n=120)
    groups = np.arange(120) // 4
    for got, want in ((make_splits("stratified", y, None, 5, 3), stratified_kfold(y, 5, seed=3)),
                      (make_splits("group", y, groups, 4, 3), group_kfold(y, groups, 4, seed=3))):
        assert len(got) == len(want)
        for (a, b), (c, d) in zip(got, want):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)


def test_make_splits_repeats_put_every_row_in_one_test_fold_per_repetition():
    y = _labels(1, n=90)
    splits = make_splits("stratified", y, None, 3, 0, repeats=2)
    assert len(splits) == 6
    for r in range(2):
        tests = np.concatenate([te for _, te in splits[3 * r:3 * r + 3]])
        np.testing.assert_array_equal(np.sort(tests), np.arange(90))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(splits[:3], splits[3:]))


@pytest.mark.parametrize("kw,match", [({"kind": "loo"}, "kind must be one of"),
                                      ({"kind": "group"}, "need the groups"),
                                      ({"repeats": 0}, "repeats must be a positive integer")])
def test_make_splits_names_bad_arguments(kw, match):
    args = {"kind": "stratified", "y": _labels(2, n=40), "k": 2, **kw}
    with pytest.raises(ValueError, match=match):
        make_splits(**args)


def _fold_of(splits, n):
    fold = np.full(n, -1)
    for k, (tr, te) in enumerate(splits):
        assert np.all(fold[te] == -1)  # tested once per repeat
        fold[te] = k
        np.testing.assert_array_equal(np.sort(np.r_[tr, te]), np.arange(n))
    assert np.all(fold >= 0)
    return fold


def test_repeated_kfold_one_repeat_is_the_plain_split_and_repeats_differ():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 300)
    one = repeated_kfold(y, 5, n_repeats=1, seed=3)
    assert len(one) == 1
    for (_, te), (_, te0) in zip(one[0], stratified_kfold(y, 5, seed=3)):
        np.testing.assert_array_equal(te, te0)
    three = repeated_kfold(y, 5, n_repeats=3, seed=3)
    folds = [_fold_of(splits, y.size) for splits in three]
    np.testing.assert_array_equal(folds[0], _fold_of(one[0], y.size))
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        # same-fold pairs agree about as often as between independent random partitions
        same = (folds[a][:, None] == folds[a]) == (folds[b][:, None] == folds[b])
        assert same.mean() < 0.75
    for splits in three:  # stratified in every repeat
        for _, te in splits:
            assert np.all(np.abs(np.bincount(y[te], minlength=7) - np.bincount(y) / 5) <= 1)
    again = repeated_kfold(y, 5, n_repeats=3, seed=3)
    for r in range(3):
        np.testing.assert_array_equal(_fold_of(again[r], y.size), folds[r])


def test_repeated_kfold_grouped_keeps_groups_whole_in_every_repeat():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(60), rng.integers(1, 20, 60))
    y = rng.integers(0, 7, groups.size)
    splits = repeated_kfold(y, 5, n_repeats=4, seed=0, groups=groups)
    folds = [_fold_of(s, y.size) for s in splits]
    for fold in folds:
        for g in np.unique(groups):
            assert np.unique(fold[groups == g]).size == 1
    assert len({tuple(f) for f in folds}) == 4  # every repeat a different split
    for (_, te), (_, te0) in zip(splits[0], group_kfold(y, groups, 5, seed=0)):
        np.testing.assert_array_equal(te, te0)


def test_repeat_seeds():
    seeds = repeat_seeds(7, 4)
    assert seeds[0] == 7 and len(set(seeds)) == 4 and seeds == repeat_seeds(7, 4)
    assert repeat_seeds(7, 2)[1] != 8 and repeat_seeds(8, 1) == [8]
    for bad in [(-1, 2), (1.5, 2), (np.random.default_rng(0), 2), (1, 0), (1, True)]:
        with pytest.raises(ValueError):
            repeat_seeds(*bad)
    with pytest.raises(ValueError, match="y is required"):
        repeated_kfold(None, 5, 2)


@pytest.mark.parametrize("kind", ["stratified", "group"])
def test_make_splits_repeats_are_repeated_kfold(kind):
    y = _labels(3, n=120)
    groups = np.arange(120) // 4 if kind == "group" else None
    flat = make_splits(kind, y, groups, 4, 7, repeats=3)
    nested = repeated_kfold(y, 4, 3, seed=7, groups=groups)
    assert len(flat) == 12
    for (a, b), (c, d) in zip(flat, [s for rep in nested for s in rep]):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
