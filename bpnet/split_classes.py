"""Which classes the data hold, and which a cross-validation split leaves out of a fold.

A sheet of three classes is a three-class study: :func:`present_classes` renumbers the
labels over the classes present, so no table shows four empty classes and no network gets
outputs for classes it never sees.

A class missing from a fold's training rows cannot be predicted in that fold, and a class
in no test fold is never scored: its recall and precision are 0/0, which tables print as
0 %. Both are found here, before any training, so that a command can refuse the split in
one line or, when asked to go on, say in its report which folds are affected and why.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["present_classes", "split_class_problems"]


def _names(codes, class_names: Sequence[str]) -> str:
    return ", ".join(str(class_names[int(c)]) for c in codes)


def split_class_problems(splits, y, class_names: Sequence[str]) -> list[str]:
    """One sentence per problem: a fold whose training rows lack a class, a class in no test fold.

    Parameters
    ----------
    splits : sequence of (train_idx, test_idx)
    y : (n,) int array
        Labels, indices into ``class_names``.
    class_names : sequence of str

    Returns
    -------
    list of str
        Empty when every class is in every training fold and in at least one test fold.
    """
    y = np.asarray(y)
    present = np.unique(y)
    problems = []
    tested = set()
    for k, (train, test) in enumerate(splits):
        missing = np.setdiff1d(present, y[np.asarray(train)])
        if missing.size:
            problems.append(f"fold {k + 1} has no training image of {_names(missing, class_names)}, "
                            "so it cannot predict that class")
        tested.update(np.unique(y[np.asarray(test)]).tolist())
    never = [c for c in present if int(c) not in tested]
    if never:
        problems.append(f"{_names(never, class_names)} is in no test fold, so its recall and "
                        "precision are undefined (tables show 0.00)")
    return problems


def present_classes(y, class_names: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    """Labels renumbered over the classes present: ``(y, class_names, names left out)``.

    Raises
    ------
    ValueError
        When fewer than two classes are present: there is nothing to classify.
    """
    y = np.asarray(y)
    present = np.unique(y)
    if len(present) < 2:
        only = class_names[int(present[0])] if len(present) else "none"
        raise ValueError(f"the data hold one class only ({only}): there is nothing to "
                         "classify; check the labels and the class folders")
    left = [str(c) for k, c in enumerate(class_names) if k not in set(present.tolist())]
    return (np.searchsorted(present, y), tuple(class_names[int(k)] for k in present), left)
