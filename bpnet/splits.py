"""Seeded train/test splits for the cross-validation protocols.

Every splitter takes ``seed`` (an int or a ``np.random.Generator``), builds one
``np.random.default_rng(seed)`` and never touches the global RNG, so the same
seed gives the same folds. Splits are returned as a list of
``(train_idx, test_idx)`` pairs of sorted int64 index arrays; each sample lies
in exactly one test fold. :func:`fold_masks` turns them into stacked boolean
masks so that all K folds can be trained at once as one array program.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .input_checks import check_labels

__all__ = ["SPLIT_KINDS", "fold_masks", "group_kfold", "make_splits", "repeat_seeds",
           "repeated_kfold", "stratified_holdout", "stratified_kfold"]

#: The kinds of :func:`make_splits`: folds stratified by class, or folds that keep groups whole
SPLIT_KINDS = ("stratified", "group")

Seed = int | np.random.Generator | None
Split = tuple[np.ndarray, np.ndarray]


def _check_n_splits(n_splits: int) -> int:
    if isinstance(n_splits, bool) or int(n_splits) != n_splits or n_splits < 2:
        raise ValueError(f"n_splits must be an integer >= 2, got {n_splits!r}")
    return int(n_splits)


def _splits_from_folds(test_fold: np.ndarray, n_splits: int) -> list[Split]:
    """Turn a fold id per sample into sorted (train_idx, test_idx) pairs."""
    idx = np.arange(test_fold.size)
    return [(idx[test_fold != k], idx[test_fold == k]) for k in range(n_splits)]


def _encode_by_appearance(y: np.ndarray) -> tuple[np.ndarray, int]:
    """Class codes 0..C-1 in order of first appearance (as scikit-learn does)."""
    _, first, inverse = np.unique(y, return_index=True, return_inverse=True)
    # Rank the classes by the index of their first occurrence.
    _, order = np.unique(first, return_inverse=True)
    return order[inverse.ravel()], first.size


def stratified_kfold(
    y: ArrayLike, n_splits: int = 20, seed: Seed = 0, shuffle: bool = True
) -> list[Split]:
    """Stratified K-fold: every fold keeps the class proportions of ``y``.

    Uses the allocation of scikit-learn's ``StratifiedKFold``: the
    class-sorted labels are dealt round-robin to the folds, so per fold each
    class count and the fold size differ by at most one from the ideal. The
    per-fold class counts are therefore identical to scikit-learn's; which
    samples of a class go to which fold is then drawn from ``seed``.

    Parameters
    ----------
    y : (n_samples,) array-like
        Class labels (any hashable dtype: ints or strings).
    n_splits : int, default 20
        Number of folds K (the paper uses 20).
    seed : int or np.random.Generator, default 0
        Randomness for the assignment within each class.
    shuffle : bool, default True
        If False, each class's samples fill the folds in data order (same
        indices as scikit-learn with ``shuffle=False``) and ``seed`` is unused.

    Returns
    -------
    list of K (train_idx, test_idx)
        Sorted int64 index arrays; every sample is in exactly one test fold.

    Raises
    ------
    ValueError
        If ``n_splits < 2`` or ``n_splits > n_samples``.

    Warns
    -----
    UserWarning
        If some class has fewer than ``n_splits`` members (some folds then
        lack that class).
    """
    y = check_labels(y, integer=False)
    n_splits = _check_n_splits(n_splits)
    if n_splits > y.size:
        raise ValueError(f"n_splits={n_splits} is greater than the number of samples {y.size}")
    codes, n_classes = _encode_by_appearance(y)
    counts = np.bincount(codes, minlength=n_classes)
    if counts.min() < n_splits:
        warnings.warn(
            f"the least populated class has {counts.min()} members, fewer than "
            f"n_splits={n_splits}; some folds will lack it",
            UserWarning,
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    # Dealing the class-sorted labels round-robin fixes how many of each class
    # every fold gets; remainders of one class continue where the last ended,
    # which keeps the fold sizes within one of each other too.
    dealt = np.sort(codes)
    allocation = np.stack(
        [np.bincount(dealt[k::n_splits], minlength=n_classes) for k in range(n_splits)]
    )  # (K, C)
    test_fold = np.empty(y.size, dtype=np.int64)
    for c in range(n_classes):
        folds_for_class = np.repeat(np.arange(n_splits), allocation[:, c])
        if shuffle:
            rng.shuffle(folds_for_class)
        test_fold[codes == c] = folds_for_class
    return _splits_from_folds(test_fold, n_splits)


def group_kfold(
    y: ArrayLike | None, groups: ArrayLike, n_splits: int = 5, seed: Seed = 0
) -> list[Split]:
    """Group K-fold: no group (person, movie) is split between train and test.

    Groups are assigned whole to test folds, largest first (seeded random
    order among groups of equal size). Each group goes to the fold where it
    least increases

    ``sum_f sum_c (n_fc - N_c / K)**2 + sum_f (n_f - N / K)**2``,

    i.e. it balances the fold sizes and, as far as whole groups allow, the
    per-class counts (a stratified-group heuristic). Ties are broken by a
    seeded random order of the folds.

    Parameters
    ----------
    y : (n_samples,) array-like or None
        Class labels to stratify on; None balances fold sizes only.
    groups : (n_samples,) array-like
        Group label of each sample (ints or strings).
    n_splits : int, default 5
    seed : int or np.random.Generator, default 0

    Returns
    -------
    list of K (train_idx, test_idx)
        Sorted int64 index arrays; every sample in exactly one test fold, and
        each group entirely in one test fold.

    Raises
    ------
    ValueError
        If there are fewer distinct groups than ``n_splits``, or the lengths
        of ``y`` and ``groups`` differ.
    """
    groups = check_labels(groups, "groups", integer=False)
    n_splits = _check_n_splits(n_splits)
    if y is None:
        y_codes = np.zeros(groups.size, dtype=np.int64)
    else:
        y = check_labels(y, integer=False)
        if y.size != groups.size:
            raise ValueError(f"y and groups differ in length: {y.size} != {groups.size}")
        y_codes = np.unique(y, return_inverse=True)[1].ravel()
    g_codes = np.unique(groups, return_inverse=True)[1].ravel()
    n_groups = int(g_codes.max()) + 1
    if n_groups < n_splits:
        raise ValueError(f"cannot make {n_splits} folds from {n_groups} groups")
    n_classes = int(y_codes.max()) + 1
    # (n_groups, C) class counts of every group, built without a sample loop.
    g_counts = np.bincount(
        g_codes * n_classes + y_codes, minlength=n_groups * n_classes
    ).reshape(n_groups, n_classes)
    g_sizes = g_counts.sum(axis=1)

    rng = np.random.default_rng(seed)
    perm = rng.permutation(n_groups)
    # Stable sort of a random permutation: largest first, random among equals.
    order = perm[np.argsort(-g_sizes[perm], kind="stable")]

    k, total_c, total = n_splits, g_counts.sum(axis=0), int(g_sizes.sum())
    fold_c = np.zeros((k, n_classes), dtype=np.int64)
    fold_n = np.zeros(k, dtype=np.int64)
    group_fold = np.empty(n_groups, dtype=np.int64)
    for g in order:
        # Increase of the objective (times K/2, minus terms equal for all
        # folds), kept in integers so that ties are exact.
        cost = (k * fold_c - total_c) @ g_counts[g] + (k * fold_n - total) * g_sizes[g]
        tied = np.flatnonzero(cost == cost.min())
        f = tied[rng.integers(tied.size)] if tied.size > 1 else tied[0]
        group_fold[g] = f
        fold_c[f] += g_counts[g]
        fold_n[f] += g_sizes[g]
    return _splits_from_folds(group_fold[g_codes], n_splits)


def repeat_seeds(seed: int, n_repeats: int) -> list[int]:
    """The split seed of each repeat of a repeated K-fold.

    Repeat 0 uses ``seed`` itself, so one repeat gives the very folds of a plain K-fold
    with that seed (runs made before repeats existed stay comparable and resumable); repeat
    ``r >= 1`` uses a 32-bit seed drawn from ``np.random.SeedSequence([seed, r])``: unlike
    ``seed + r``, it does not make repeat r of seed s the same split as repeat 0 of seed
    s + r.

    Parameters
    ----------
    seed : int
        A non-negative integer (a Generator has no value to record beside the results).
    n_repeats : int

    Returns
    -------
    list of int
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(n_repeats, bool) or int(n_repeats) != n_repeats or n_repeats < 1:
        raise ValueError(f"n_repeats must be an integer >= 1, got {n_repeats!r}")
    return [int(seed)] + [int(np.random.SeedSequence([int(seed), r]).generate_state(1)[0])
                          for r in range(1, int(n_repeats))]


def repeated_kfold(
    y: ArrayLike | None,
    n_splits: int = 5,
    n_repeats: int = 1,
    seed: int = 0,
    groups: ArrayLike | None = None,
) -> list[list[Split]]:
    """R x K folds: R independent K-fold splits of the same samples, one seed per repeat.

    Each repeat is :func:`stratified_kfold` (or :func:`group_kfold` when ``groups`` is
    given) with the seed :func:`repeat_seeds` gives it, so every sample is tested once per
    repeat and, grouped, no group is split within a repeat. Every model compared on the
    result gets the same splits. The statistics for R x K folds (the corrected resampled t,
    McNemar over repeats) are in :mod:`bpnet.stats` and :mod:`bpnet.prediction_tests`.

    Parameters
    ----------
    y : (n_samples,) array-like or None
        Class labels (None only with ``groups``: fold sizes are then balanced alone).
    n_splits : int, default 5
    n_repeats : int, default 1
    seed : int, default 0
    groups : (n_samples,) array-like, optional

    Returns
    -------
    list of R lists of K (train_idx, test_idx)
        ``splits[r][k]`` is fold k of repeat r.
    """
    seeds = repeat_seeds(seed, n_repeats)
    if groups is not None:
        return [group_kfold(y, groups, n_splits, seed=s) for s in seeds]
    if y is None:
        raise ValueError("y is required unless groups are given")
    return [stratified_kfold(y, n_splits, seed=s) for s in seeds]


def stratified_holdout(y: ArrayLike, test_size: float | int = 0.2, seed: Seed = 0) -> Split:
    """One stratified train/test split.

    The number of test samples is ``ceil(test_size * n_samples)`` (or
    ``test_size`` itself if an int), shared out over the classes in
    proportion to their counts by the largest-remainder rule (seeded random
    order among equal remainders); the samples are then drawn at random
    within each class.

    Parameters
    ----------
    y : (n_samples,) array-like
        Class labels.
    test_size : float in (0, 1) or int in [1, n_samples - 1], default 0.2
    seed : int or np.random.Generator, default 0

    Returns
    -------
    train_idx, test_idx : sorted int64 ndarrays
    """
    y = check_labels(y, integer=False)
    n = y.size
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, float) and 0.0 < test_size < 1.0:
        n_test = int(np.ceil(test_size * n))
    else:
        raise ValueError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(f"test_size gives {n_test} test samples out of {n}; need 1..{n - 1}")
    codes = np.unique(y, return_inverse=True)[1].ravel()
    counts = np.bincount(codes)
    rng = np.random.default_rng(seed)

    quota = n_test * counts / n
    per_class = np.floor(quota).astype(np.int64)
    remainder = quota - per_class
    # Largest remainder first; a random permutation breaks ties fairly.
    perm = rng.permutation(counts.size)
    extra = perm[np.argsort(-remainder[perm], kind="stable")][: n_test - per_class.sum()]
    per_class[extra] += 1

    test = np.concatenate(
        [rng.permutation(np.flatnonzero(codes == c))[: per_class[c]] for c in range(counts.size)]
    )
    test_mask = np.zeros(n, dtype=bool)
    test_mask[test] = True
    return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)


def fold_masks(splits: Sequence[Split], n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack splits into boolean masks, one row per fold.

    Parameters
    ----------
    splits : sequence of K (train_idx, test_idx)
    n_samples : int

    Returns
    -------
    train_mask, test_mask : (K, n_samples) bool ndarrays
        ``train_mask[k, i]`` is True when sample ``i`` trains fold ``k``. For
        a K-fold split the two masks are complements of each other.

    Raises
    ------
    ValueError
        If an index is out of ``[0, n_samples)`` or a sample is both train
        and test in the same fold.
    """
    k = len(splits)
    train_mask = np.zeros((k, n_samples), dtype=bool)
    test_mask = np.zeros((k, n_samples), dtype=bool)
    for f, (tr, te) in enumerate(splits):
        for name, idx, mask in (("train", tr, train_mask), ("test", te, test_mask)):
            idx = np.asarray(idx, dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= n_samples):
                raise ValueError(f"fold {f}: {name} index out of range for n_samples={n_samples}")
            mask[f, idx] = True
    if np.any(train_mask & test_mask):
        raise ValueError("a sample is in both train and test of the same fold")
    return train_mask, test_mask


def make_splits(kind: str, y: ArrayLike, groups: ArrayLike | None = None, k: int = 5,
                seed: Seed = 0, repeats: int = 1) -> list[Split]:
    """The one place a protocol's splits are chosen: ``k`` folds of ``kind``, ``repeats`` times.

    Parameters
    ----------
    kind : {"stratified", "group"}
        :func:`stratified_kfold`, or :func:`group_kfold` (needs ``groups``: no group is
        split between training and test).
    y : (n,) labels
    groups : (n,) array, optional
        The group of each row (the movie); required for ``"group"``.
    k : int
        Folds per repetition.
    seed : int or np.random.Generator
        An int gives each repetition the seed :func:`repeat_seeds` derives from it (the same
        folds as :func:`repeated_kfold`), so ``repeats=1`` is exactly the splitter called with
        ``seed``; a Generator serves every repetition in turn.
    repeats : int
        Repetitions of the k-fold split with fresh random assignments; each row lies in one
        test fold per repetition. The result holds ``k * repeats`` splits, repetition by
        repetition.

    Returns
    -------
    list of (train_idx, test_idx)
    """
    if kind not in SPLIT_KINDS:
        raise ValueError(f"kind must be one of {SPLIT_KINDS}, got {kind!r}")
    if isinstance(repeats, bool) or int(repeats) != repeats or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    if kind == "group" and groups is None:
        raise ValueError("group splits need the groups (one per row)")
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        seeds: list = repeat_seeds(int(seed), int(repeats))  # recordable: one per repetition
    else:  # a Generator serves every repetition in turn
        seeds = [np.random.default_rng(seed)] * int(repeats)
    splits: list[Split] = []
    for s in seeds:
        splits += (stratified_kfold(y, k, seed=s) if kind == "stratified"
                   else group_kfold(y, groups, k, seed=s))
    return splits
