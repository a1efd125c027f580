"""Names shared by the data modules: class order, the quirk warning, movie groups."""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: Class order everywhere in bpnet: label ``k`` (0..6) is ``CLASS_NAMES[k]``; the SFEW
#: sheet's labels are 1..7 in the same order.
CLASS_NAMES: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise")


class DataQuirkWarning(UserWarning):
    """A loader met a known irregularity in the data, handled it and says how."""


def class_summary(y, class_names: Sequence[str]) -> str:
    """``'Angry 100, Disgust 75, ...'``: the class counts of labels ``y``."""
    counts = np.bincount(np.asarray(y), minlength=len(class_names))
    return ", ".join(f"{c} {k}" for c, k in zip(class_names, counts))


def movie_from_name(name: str) -> str:
    """The movie (group) of an SFEW image name: everything before the last two ``_`` fields.

    ``'HarryPotter_Deathly_Hallows_1_001610960_00000028'`` -> ``'HarryPotter_Deathly_Hallows_1'``;
    a name with fewer than two ``_`` is its own group.
    """
    parts = name.rsplit("_", 2)
    return parts[0] if len(parts) == 3 else name


def format_quirks(source: str, quirks: Sequence[str]) -> str:
    """One warning message listing every quirk on its own line."""
    head = f"{source}: {len(quirks)} data quirk{'s' if len(quirks) != 1 else ''} handled:"
    return "\n  - ".join([head, *quirks])
