"""Values as JSON can hold them: the one conversion every result and file of bpnet uses."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["read_json", "to_json_value"]


def to_json_value(value, *, finite: bool = True):
    """``value`` in plain JSON types, recursively.

    Dicts (their keys too), lists and tuples are walked; arrays become lists and NumPy
    scalars Python numbers. With ``finite`` (default), NaN and infinite floats become None,
    since JSON has no such numbers; ``finite=False`` keeps them as floats (Python's ``json``
    writes ``NaN``, which it also reads back) for records that must round-trip them.
    """
    if isinstance(value, dict):
        return {to_json_value(k, finite=finite): to_json_value(v, finite=finite)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v, finite=finite) for v in value]
    if isinstance(value, np.ndarray):
        return to_json_value(value.tolist(), finite=finite)
    if isinstance(value, (np.floating, float)):
        return None if finite and not math.isfinite(value) else float(value)
    if isinstance(value, np.generic):  # integers, booleans, strings
        return value.item()
    return value


def read_json(text_or_path: str | Path):
    """The value of a JSON object given as its text or as the path of a file holding it
    (the ``from_json`` of every result type). ``NaN`` and ``Infinity`` read as floats."""
    text = str(text_or_path)
    if not text.lstrip().startswith("{"):
        text = Path(text_or_path).read_text()
    return json.loads(text)
