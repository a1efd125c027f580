"""Model cards: the markdown file beside every saved model, saying what it is and how good.

A card names the data, the recipe, the cross-validated accuracy of that recipe with a 95 %
t-interval over the folds, the classes in output order, the date and the versions. The
accuracy is the recipe's (each fold's model scored on images it never saw); the model
beside the card was refitted on every row, so no held-out figure exists for it.
"""
from __future__ import annotations

import datetime
import json
import math
import platform
from typing import Any, Sequence

import numpy as np

__all__ = ["cv_interval", "model_card", "versions"]


def cv_interval(fold_accuracy: Sequence[float]) -> tuple[float, float, float]:
    """Mean fold accuracy and its 95 % t-interval, ``(mean, low, high)`` (clipped to [0, 1]).

    ``mean +- t(0.975, k - 1) * sd / sqrt(k)`` over the ``k`` folds' test accuracies
    (sd with ``ddof=1``); with one fold the interval is that fold's accuracy alone.
    """
    from scipy import stats

    acc = np.asarray(fold_accuracy, float)
    mean = float(acc.mean())
    if len(acc) < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.975, len(acc) - 1) * acc.std(ddof=1) / math.sqrt(len(acc)))
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def versions(torch: bool = True) -> dict[str, str]:
    """Versions of bpnet-fer, Python, NumPy and (when imported) PyTorch."""
    import sys

    from bpnet import __version__

    out = {"bpnet-fer": __version__, "python": platform.python_version(), "numpy": np.__version__}
    if torch and "torch" in sys.modules:
        out["torch"] = sys.modules["torch"].__version__
    return out


def model_card(*, title: str, model_file: str, kind: str, data: dict[str, Any],
               recipe: dict[str, Any], fold_accuracy: Sequence[float], protocol: str,
               class_names: Sequence[str], notes: Sequence[str] = ()) -> str:
    """The card's markdown.

    Parameters
    ----------
    title : str
    model_file : str
        The model's file name (the card sits beside it).
    kind : str
        What the file holds, e.g. "BP pipeline (.npz)".
    data : dict
        ``source``, ``n`` and ``class_counts`` at least.
    recipe : dict
        The settings the model was trained with (JSON).
    fold_accuracy : sequence of float
        Test accuracy of every cross-validation fold of the same recipe.
    protocol : str
        The split, e.g. "5-fold stratified, seed 0".
    class_names : sequence of str
        In output order.
    notes : sequence of str
    """
    mean, low, high = cv_interval(fold_accuracy)
    counts = data.get("class_counts")
    classes = "\n".join(f"{i}. {name}" + (f" ({counts[i]} training images)" if counts else "")
                        for i, name in enumerate(class_names))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# {title}", "",
        f"- **Model file**: `{model_file}` ({kind})",
        f"- **Date**: {now}",
        f"- **Data**: {data.get('source')}, {data.get('n')} images; the model was refitted on "
        "all of them after cross-validation",
        f"- **Cross-validated accuracy of this recipe**: {mean:.1%} (95 % t-interval over the "
        f"{len(fold_accuracy)} folds: {low:.1%} to {high:.1%}; {protocol}). Each fold's model was "
        "scored on images it never saw; this file's model saw every image, so the figure "
        "estimates it on new images from the same source, not on other sources.",
        "", "## Classes (output order)", "", classes,
        "", "## Recipe", "", "```json", json.dumps(recipe, indent=1, sort_keys=True), "```",
        "", "## Versions", "",
        *[f"- {k} {v}" for k, v in versions().items()],
        "", "## Use", "", "```", f"fer-predict {model_file} photo.jpg --top 3", "```"]
    if notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"
