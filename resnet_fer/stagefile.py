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

import numpy as np

__all__ = ["CorruptStageError", "check_feature_rows", "check_optimisers", "check_pruned",
           "check_splits", "read_stage"]


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


# --- what each stage must hold: read the way the later stages and the report read it ---------
def check_splits(value: dict[str, Any]) -> None:
    """``stages/splits.json``: the test sample ids of each fold."""
    [list(map(str, fold)) for fold in value["test_ids"]]


def check_pruned(value: dict[str, Any]) -> None:
    """A pruned cross-validation (``bp``, ``bp_wide_pruning``): a readable result with the
    pruning history and the sizes before pruning that Fig. 4 reads."""
    from bpnet.prune_retrain import PruningHistory
    from bpnet.results import CVResult

    CVResult.from_dict(value)
    extra = value["extra"]
    PruningHistory.from_dict(extra["pruning"])
    before = extra["before_pruning"]
    np.asarray(before["n_hidden"], float) - np.asarray(extra["n_hidden"], float)
    float(np.mean(np.asarray(before["test_accuracy"], float)))


def check_optimisers(value: dict[str, Any]) -> None:
    """``stages/bp_optimizers.json``: per optimiser, its rate, curves and accuracy."""
    for run in value["runs"].values():
        float(run["lr"]), float(run["test_accuracy_mean"])
        np.asarray(run["train_loss_mean"], float), np.asarray(run["train_loss_sd"], float)


def check_feature_rows(images, feats) -> None:
    """A cached feature table computed from ``images``: one row per image (not truncated)."""
    if sorted(feats.sample_ids) != sorted(images.sample_ids):
        raise ValueError(f"{len(feats.sample_ids)} rows for {len(images.sample_ids)} images")
