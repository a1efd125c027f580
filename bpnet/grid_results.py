"""The result of a nested grid search: scores, tables and the heatmap.

:func:`bpnet.model_selection.grid_search_cv` returns a :class:`GridSearchResult`; this
module holds it and what is made from it: :meth:`GridSearchResult.summary` (plain numbers
for ``summary.json``), :meth:`GridSearchResult.table` (one row per setting, ``grid.csv``)
and :func:`plot_inner_accuracy` (``heatmap.png``).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from .grid_stack import FitResult
from .json_values import to_json_value
from .metrics import accuracy_mean_std, confusion_matrix

__all__ = ["GridSearchResult", "OuterScores", "plot_inner_accuracy", "score_outer_folds",
           "write_table_csv"]


@dataclass
class OuterScores:
    """One way of scoring the outer folds.

    Attributes
    ----------
    y_pred : (n,) out-of-fold predictions
    confusions : (O, C, C) per outer fold
    test_accuracy : (O,)
    """

    y_pred: np.ndarray
    confusions: np.ndarray
    test_accuracy: np.ndarray

    @property
    def mean_std(self) -> tuple[float, float]:
        return accuracy_mean_std(self.confusions)


@dataclass
class GridSearchResult:
    """The nested search: inner scores of every setting and the outer scores.

    Attributes
    ----------
    params : list of dict
        The ``S`` settings of the grid (only the names the grid varies).
    settings : dict
        The fixed training settings (every other name of ``TRAINING_PARAMS``).
    inner_accuracy, inner_loss, best_epoch : (O, I, S) arrays
        Validation accuracy and loss of inner model ``(o, i, s)`` at its best epoch, and
        that epoch. ``i`` runs over the inner folds, each ``n_init`` times (fold
        ``i // n_init``).
    scores : (O, S)
        Mean inner validation accuracy: what the choice is made on.
    chosen : (O,) int
        Index into ``params`` of the setting chosen for each outer fold.
    ensemble, refit : OuterScores
        The outer folds scored by the inner models of the chosen setting (of the
        ``top_k`` best settings), their outputs averaged, or by one network of the chosen
        setting retrained on the outer training rows (None when not computed).
    outer : {"ensemble", "refit"}
        Which of the two is the headline (``summary()["test_accuracy_mean"]``).
    fixed_test_accuracy : (O, S)
        Outer test accuracy of every setting's inner ensemble: each setting as if fixed in
        advance (not a selection score).
    val_accuracy_curves : (S, epochs)
        Inner validation accuracy after every epoch, averaged over all inner models.
    outer_outputs : list of (I, S, n_test, C) arrays
        Per outer fold, the outputs of every inner model on its outer test rows.
    top_k : int
    n_networks : int
        Networks trained: fewer than the inner scores when a grid over epochs is read from
        one run per model.
    """

    params: list
    settings: dict
    y_true: np.ndarray
    inner_accuracy: np.ndarray
    inner_loss: np.ndarray
    best_epoch: np.ndarray
    scores: np.ndarray
    chosen: np.ndarray
    ensemble: OuterScores
    refit: OuterScores | None
    outer: str
    fixed_test_accuracy: np.ndarray
    val_accuracy_curves: np.ndarray
    splits: list = field(repr=False, default_factory=list)
    inner_splits: list = field(repr=False, default_factory=list)
    fit: FitResult | None = field(repr=False, default=None)
    outer_outputs: list = field(repr=False, default_factory=list)
    top_k: int = 1
    n_classes: int = 0
    n_networks: int = 0
    seconds: float = 0.0

    def ensemble_scores(self, top_k: int = 1) -> OuterScores:
        """The outer folds scored by the averaged inner models of the ``top_k`` settings
        with the best inner accuracy (chosen per outer fold, from inner scores only)."""
        outputs = []
        for o, out in enumerate(self.outer_outputs):
            best = np.argsort(-self.scores[o], kind="stable")[:top_k]
            outputs.append(out[:, best].mean(axis=(0, 1)))
        return score_outer_folds(outputs, self.y_true, self.splits, self.n_classes)

    @property
    def headline(self) -> OuterScores:
        return self.refit if self.outer == "refit" else self.ensemble

    def chosen_params(self) -> list[dict]:
        """The setting chosen in each outer fold."""
        return [dict(self.params[s]) for s in self.chosen]

    def summary(self) -> dict:
        """Plain numbers for a JSON file (no per-sample data)."""
        mean, std = self.headline.mean_std
        n_out = len(self.chosen)
        # accuracies are sums of float32 weights in a float32 run: 6 decimals are exact
        out = {"outer_folds": n_out, "inner_folds": len(self.inner_splits[0]),
               "n_init": int(self.inner_accuracy.shape[1]) // len(self.inner_splits[0]),
               "settings": len(self.params), "inner_scores": int(self.inner_accuracy.size),
               "networks_trained": self.n_networks,
               "outer": self.outer, "top_k": self.top_k,
               "test_accuracy_mean": _r(mean), "test_accuracy_std": _r(std),
               "test_accuracy_mean_ensemble": _r(self.ensemble.mean_std[0])}
        if self.refit is not None:
            out["test_accuracy_mean_refit"] = _r(self.refit.mean_std[0])
        out["inner_accuracy_of_chosen_mean"] = _r(self.scores[np.arange(n_out), self.chosen].mean())
        out["chosen"] = [{"fold": o, "setting": to_json_value(self.params[s], finite=False),
                          "inner_accuracy": _r(self.scores[o, s]),
                          "best_epoch_median": float(np.median(self.best_epoch[o, :, s]))}
                         for o, s in enumerate(self.chosen)]
        out["fixed_settings"] = to_json_value(self.settings, finite=False)
        out["seconds"] = round(self.seconds, 2)
        return out

    def table(self) -> list[dict]:
        """One row per setting: its inner accuracy, loss and best epochs, how often it
        was chosen, and its outer accuracy as a fixed setting."""
        rows = []
        for s, p in enumerate(self.params):
            per_fold = self.scores[:, s]
            rows.append({**to_json_value(p, finite=False),
                         "inner_accuracy_mean": _r(per_fold.mean()),
                         "inner_accuracy_std": _r(per_fold.std()),
                         "inner_loss_mean": _r(self.inner_loss[:, :, s].mean()),
                         "best_epoch_median": float(np.median(self.best_epoch[:, :, s])),
                         "times_chosen": int(np.sum(self.chosen == s)),
                         "test_accuracy_fixed": _r(self.fixed_test_accuracy[:, s].mean())})
        return rows


def _r(x) -> float:
    return round(float(x), 6)


def score_outer_folds(outputs_per_fold: list, y, splits, n_classes: int) -> OuterScores:
    """Outer folds scored by outputs ``(n_test_o, C)`` per fold: predictions and confusions."""
    y_pred = np.empty_like(y)
    cms = []
    for o, (_, te) in enumerate(splits):
        y_pred[te] = outputs_per_fold[o].argmax(axis=1)
        cms.append(confusion_matrix(y[te], y_pred[te], n_classes))
    cms = np.stack(cms)
    return OuterScores(y_pred, cms, cms.trace(axis1=1, axis2=2) / cms.sum(axis=(1, 2)))


def write_table_csv(result: GridSearchResult, path) -> None:
    """:meth:`GridSearchResult.table` as CSV, one row per setting."""
    import csv
    import io

    from .outdir import atomic_write_text

    rows = result.table()
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())  # a full disk names the file; never half a table


def plot_inner_accuracy(result: GridSearchResult, path=None, max_panels: int = 12):
    """Heatmap of the mean inner validation accuracy over the grid.

    The two grid names with the most values are the axes; each combination of the other
    names gets a panel (past ``max_panels``, a cell shows the best over them). Each cell
    also says how many outer folds chose it. Saves to ``path`` when given; returns the
    matplotlib Figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    params, acc = result.params, result.scores.mean(axis=0)
    levels = {k: list(dict.fromkeys(repr(p[k]) for p in params)) for k in params[0]}
    labels = {k: {repr(p[k]): str(p[k]) for p in params} for k in params[0]}
    names = sorted((k for k in levels if len(levels[k]) > 1), key=lambda k: -len(levels[k]))
    row, col, rest = (names + [None, None])[0], (names + [None, None])[1], names[2:]
    panels = list(itertools.product(*(levels[k] for k in rest)))
    collapse = len(panels) > max_panels
    if collapse:
        panels, rest = [()], []

    def index(k, p):
        return 0 if k is None else levels[k].index(repr(p[k]))

    shape = (len(panels), len(levels[row]) if row else 1, len(levels[col]) if col else 1)
    grid, chosen = np.full(shape, np.nan), np.zeros(shape, int)
    for s, p in enumerate(params):
        where = panels.index(tuple(repr(p[k]) for k in rest)), index(row, p), index(col, p)
        grid[where] = np.fmax(grid[where], acc[s])
        chosen[where] += int(np.sum(result.chosen == s))
    fig = Figure(figsize=(min(4.2 * len(panels), 17), 3.2 + 0.3 * shape[1]))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    lo, hi = np.nanmin(grid), np.nanmax(grid)
    for j, (ax, panel, g, c) in enumerate(zip(axes, panels, grid, chosen)):
        im = ax.imshow(100 * g, cmap="viridis", vmin=100 * lo, vmax=100 * hi, aspect="auto")
        for (r, q), v in np.ndenumerate(g):
            if np.isfinite(v):
                ax.text(q, r, f"{100 * v:.1f}" + (f"\n{c[r, q]}x" if c[r, q] else ""),
                        ha="center", va="center", fontsize=8,
                        color="black" if v > (lo + hi) / 2 else "white")
        ax.set_yticks(range(shape[1]), [labels[row][v] for v in levels[row]] if row else [""])
        ax.set_xticks(range(shape[2]), [labels[col][v] for v in levels[col]] if col else [""])
        ax.set_ylabel(row or "" if j == 0 else "")
        ax.set_xlabel(col or "")
        ax.set_title(", ".join(f"{k}={labels[k][v]}" for k, v in zip(rest, panel))
                     or ("best over the other names" if collapse else ""), fontsize=9)
    fig.colorbar(im, ax=list(axes), label="inner validation accuracy (%)")
    fig.suptitle(f"Mean inner accuracy over {len(result.chosen)} outer folds "
                 "(Nx: chosen in N outer folds)", fontsize=10)
    if path is not None:
        from .outdir import save_figure

        save_figure(fig, path, dpi=120, bbox_inches="tight")
    return fig
