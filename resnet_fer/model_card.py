"""Model cards: the markdown file beside every saved model, saying what it is and how good.

A card names the data, the recipe, the cross-validated accuracy of that recipe with its 95 %
Nadeau-Bengio corrected interval (the one the comparison report's leaderboard prints, so the
card and the report agree), the classes in output order, the date and the versions. The
accuracy is the recipe's (each fold's model scored on images it never saw); the model
beside the card was refitted on every row, so no held-out figure exists for it.
"""
from __future__ import annotations

import datetime
import json
import platform
from typing import Any, Sequence

import numpy as np

from bpnet.results import CVResult
from bpnet.stats import corrected_resampled_t

__all__ = ["cv_interval", "model_card", "versions"]


def cv_interval(cv: CVResult) -> tuple[float, float, float]:
    """Mean fold test accuracy and its 95 % interval, ``(mean, low, high)``.

    The Nadeau-Bengio corrected resampled t over the R x k folds
    (:func:`bpnet.stats.corrected_resampled_t`, with the folds' mean training and test
    sizes), as the comparison report computes its leaderboard intervals: the plain t over
    folds would be too narrow, because the folds share most of their training rows. With
    one fold the interval is that fold's accuracy alone.
    """
    acc = np.asarray(cv.fold_test_accuracy, float)
    mean = float(acc.mean())
    if len(acc) < 2:
        return mean, mean, mean
    n_train = float(np.mean([f.n_train for f in cv.folds]))
    n_test = float(np.mean([len(f.test_idx) for f in cv.folds]))
    t = corrected_resampled_t(acc, n_train, n_test)
    return mean, float(t.ci_low), float(t.ci_high)


def versions(torch: bool = True) -> dict[str, str]:
    """Versions of bpnet-fer, Python, NumPy and (when imported) PyTorch."""
    import sys

    from bpnet import __version__

    out = {"bpnet-fer": __version__, "python": platform.python_version(), "numpy": np.__version__}
    if torch and "torch" in sys.modules:
        out["torch"] = sys.modules["torch"].__version__
    return out


def model_card(*, title: str, model_file: str, kind: str, data: dict[str, Any],
               recipe: dict[str, Any], cv: CVResult, protocol: str,
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
    cv : bpnet.results.CVResult
        The cross-validation of the same recipe (its folds' test accuracy and sizes).
    protocol : str
        The split, e.g. "5-fold stratified, seed 0".
    class_names : sequence of str
        In output order.
    notes : sequence of str
    """
    mean, low, high = cv_interval(cv)
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
        f"- **Cross-validated accuracy of this recipe**: {mean:.1%} (95 % interval over the "
        f"{len(cv.folds)} folds, Nadeau-Bengio corrected for their overlapping training rows: "
        f"{low:.1%} to {high:.1%}; {protocol}). Each fold's model was "
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
