"""Which classes a cross-validation split leaves out of a training or test fold.

A class missing from a fold's training rows cannot be predicted in that fold, and a class
in no test fold is never scored: its recall and precision are 0/0, which tables print as
0 %. Both are found here, before any training, so that a command can refuse the split in
one line or, when asked to go on, say in its report which folds are affected and why.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["split_class_problems"]


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
