"""Reading back a finished stage of a ``fer-compare`` run (``stages/<name>.json``) on resume.

A stage file that cannot be used (emptied, truncated, garbled, edited into another shape) is
one error naming the file and what to do, never a ``KeyError`` or a bare JSON message later
in the report. Each stage says what it must hold by a ``check`` function that reads it the
way the later stages will.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

__all__ = ["CorruptStageError", "read_stage"]


class CorruptStageError(ValueError):
    """A stage file of a run folder cannot be used; the message names it and the remedy."""


def read_stage(path: str | Path, check: Callable[[Any], object] | None = None, *,
               load: Callable[[Path], Any] | None = None) -> Any:
    """The JSON value of ``path`` (or what ``load(path)`` reads), after ``check(value)``
    accepted it.

    Raises
    ------
    CorruptStageError
        When the file is not JSON, or ``check`` raises anything at all (a missing key, a
        wrong type, a failed validation): one line, naming the file.
    """
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8")) if load is None else load(path)
        if check is not None:
            check(value)
    except Exception as exc:  # noqa: BLE001 - any failure to read it back means "corrupt"
        why = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise CorruptStageError(
            f"{path} is corrupt ({why}); delete it (--resume then computes that stage again) "
            "or start over with --force") from None
    return value
