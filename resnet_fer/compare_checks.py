"""``fer-compare``'s checks of its inputs and its split, and its console notes.

* ``--data`` and ``--features`` are checked before the output folder is opened: a file
  given as the image folder, or a missing sheet, is one line naming the actual problem.
* The classes of the study are those the matched data hold: a sheet of three classes is a
  three-class study, not a seven-class one with four empty classes; one class is refused.
* The split is checked before any training (:func:`bpnet.split_classes.split_class_problems`):
  a class missing from a training fold or from every test fold is refused in one line,
  or, with ``--allow-missing-classes``, said per fold in the report.
* Every data note (a quirk of the sheet or the folder, images left out) is printed once on
  the console as ``note: ...`` and listed once in the report.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

__all__ = ["check_inputs", "checked_splits", "keep_present_classes", "say_notes"]


def check_inputs(args: argparse.Namespace) -> None:
    """Raise ValueError (one line) when ``--data`` or ``--features`` cannot be what they say."""
    if args.data is not None:
        root = Path(args.data)
        if root.is_file():
            raise ValueError(f"--data {root} is a file; --data takes the image folder "
                             "(<Emotion>/<name>.png), and a feature sheet goes to --features")
        if not root.is_dir():
            raise ValueError(f"--data {root}: no such folder")
    if args.features is not None:
        sheet = Path(args.features)
        if sheet.is_dir():
            raise ValueError(f"--features {sheet} is a folder; --features takes the feature "
                             "sheet (.xlsx or .csv)")
        if not sheet.is_file():
            raise ValueError(f"--features {sheet}: no such file")
        if args.data is None:
            raise ValueError("--features needs --data: the sheet describes the images of "
                             "that folder")


def keep_present_classes(data) -> None:
    """Keep only the classes the data hold (labels renumbered); refuse fewer than two."""
    from bpnet.split_classes import present_classes

    data.y, names, left = present_classes(data.y, data.class_names)
    if left:
        data.notes.append(f"{len(names)} classes: no image of {', '.join(left)} in the data, "
                          "so the study has those classes fewer")
    data.class_names = names


def checked_splits(args: argparse.Namespace, data) -> tuple[list, list[str]]:
    """The split of ``--split``/``--folds`` and its notes; refuses one that leaves a class out."""
    from bpnet.split_classes import split_class_problems
    from bpnet.splits import make_splits

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        splits = make_splits(args.split, data.y, data.groups, args.folds, args.seed,
                             getattr(args, "repeats", 1))
    notes = [" ".join(str(w.message).split()) for w in caught]
    problems = split_class_problems(splits, data.y, data.class_names)
    if problems and not getattr(args, "allow_missing_classes", False):
        more = f" (and {len(problems) - 1} more such problem(s))" if len(problems) > 1 else ""
        raise ValueError(f"the {args.folds}-fold {args.split} split: {problems[0]}{more}; use "
                         "fewer --folds, or --allow-missing-classes to go on with a note per "
                         "fold in the report")
    return splits, notes + [f"split: {p}" for p in problems]


def say_notes(notes: list[str]) -> None:
    """Print each note once on stderr, as the other commands print theirs."""
    for note in dict.fromkeys(notes):
        print(f"note: {note}", file=sys.stderr, flush=True)
