"""``fer-compare``'s checks of its inputs and its split, and its console notes.

* ``--data`` and ``--features`` are checked before the output folder is opened: a file
  given as the image folder, or a missing sheet, is one line naming the actual problem.
* ``--save-models`` with no model it can save is refused before any work.
* The classes of the study are those the matched data hold: a sheet of three classes is a
  three-class study, not a seven-class one with four empty classes; one class is refused.
* The split is checked before any training (:func:`bpnet.split_classes.split_class_problems`):
  a class missing from a training fold or from every test fold is refused in one line,
  or, with ``--allow-missing-classes``, said per fold in the report.
* Every data note (a quirk of the sheet or the folder, images left out) is printed once on
  the console as ``note: ...`` and listed once in the report.
"""
from __future__ import annotations

import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Sequence

__all__ = ["check_inputs", "check_savable", "checked_splits", "keep_present_classes", "say_notes"]


def check_inputs(source, features) -> None:
    """Raise ValueError (one line) when ``--data`` (the image folder ``source``) or
    ``--features`` (the sheet ``features``) cannot be what they say; None: not given."""
    if source is not None:
        root = Path(source)
        if root.is_file():
            raise ValueError(f"--data {root} is a file; --data takes the image folder "
                             "(<Emotion>/<name>.png), and a feature sheet goes to --features")
        if not root.is_dir():
            raise ValueError(f"--data {root}: no such folder")
    if features is not None:
        sheet = Path(features)
        if sheet.is_dir():
            raise ValueError(f"--features {sheet} is a folder; --features takes the feature "
                             "sheet (.xlsx or .csv)")
        if not sheet.is_file():
            raise ValueError(f"--features {sheet}: no such file")
        if source is None:
            raise ValueError("--features needs --data: the sheet describes the images of "
                             "that folder")


def check_savable(models: Sequence[str], features) -> None:
    """Raise ValueError (one line) when ``--save-models`` has nothing to save: none of
    :data:`resnet_fer.final.SAVABLE` among ``models`` (``bp-paper`` and ``bp-tuned`` on a
    sheet's ``features`` cannot be applied to new images,
    :func:`resnet_fer.final.save_compare_models`)."""
    from .final import SAVABLE

    savable = set(SAVABLE) - ({"bp-paper", "bp-tuned"} if features is not None else set())
    if not savable & set(models):
        others = [m for m in SAVABLE if m not in ("bp-paper", "bp-tuned")]
        raise ValueError("--save-models saves bp-paper and bp-tuned (not with --features), "
                         f"{', '.join(others[:-1])} and {others[-1]}; none of them is among "
                         f"the models ({', '.join(models)})")


def keep_present_classes(data):
    """A copy of ``data`` (:class:`resnet_fer.compare.Data`) with only the classes it holds
    (labels renumbered, a note naming those left out); refuses fewer than two."""
    from bpnet.split_classes import present_classes

    y, names, left = present_classes(data.y, data.class_names)
    notes = data.notes
    if left:
        notes += (f"{len(names)} classes: no image of {', '.join(left)} in the data, so the "
                  "study has those classes fewer",)
    return replace(data, y=y, class_names=tuple(names), notes=notes)


def checked_splits(data, kind: str, folds: int, seed: int, repeats: int = 1, *,
                   allow_missing: bool = False) -> tuple[list, list[str]]:
    """The ``repeats`` x ``folds``-fold split of kind ``kind`` (``--split``) of ``data``,
    and its notes; refuses one that leaves a class out unless ``allow_missing``
    (``--allow-missing-classes``)."""
    from bpnet.split_classes import split_class_problems
    from bpnet.splits import make_splits

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        splits = make_splits(kind, data.y, data.groups, folds, seed, repeats)
    notes = [" ".join(str(w.message).split()) for w in caught]
    problems = split_class_problems(splits, data.y, data.class_names)
    if problems and not allow_missing:
        more = f" (and {len(problems) - 1} more such problem(s))" if len(problems) > 1 else ""
        raise ValueError(f"the {folds}-fold {kind} split: {problems[0]}{more}; use "
                         "fewer --folds, or --allow-missing-classes to go on with a note per "
                         "fold in the report")
    return splits, notes + [f"split: {p}" for p in problems]


def say_notes(notes: Sequence[str]) -> None:
    """Print each note once on stderr, as the other commands print theirs."""
    for note in dict.fromkeys(notes):
        print(f"note: {note}", file=sys.stderr, flush=True)
