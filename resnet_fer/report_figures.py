"""The figures of the ``fer-compare`` report, drawn from a :class:`~bpnet.comparison.ComparisonResult`.

Every axis is labelled, epochs are integers, and lines that may coincide differ in style
(dashes, markers) as well as colour, so one never hides another.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bpnet.comparison import ComparisonResult

__all__ = ["CAPTIONS", "make_figures"]

#: each figure's caption in the report
CAPTIONS = {
    "fig1_normalisation": "Fig. 1: each feature before (grey) and after (blue) the "
                          "normalisation; skewed features are log-transformed first.",
    "fig2_optimisers": "Fig. 2: training loss of the BP network with SGD (dashed, circles), "
                       "SGD with momentum (solid) and Adam (dotted), mean over the folds of "
                       "the first repeat, band +-1 sd; the black line is the loss of "
                       "predicting the class frequencies for every image.",
    "fig4_pruning": "Fig. 4: loss and test accuracy after each round of distinctiveness "
                    "pruning (mean over the folds of the first repeat).",
    "fig5_loss": "Fig. 5: train and test loss per epoch of every model with epochs.",
    "fig6_accuracy": "Fig. 6: train and test accuracy per epoch of every model with epochs "
                     "(train: running accuracy on the training batches as they were fed).",
    "confusion": "Pooled confusion matrices (all folds of all repeats summed).",
    "critical_difference": "Critical-difference diagram (Demšar 2006): mean rank of each model "
                           "over the (repeat, fold) blocks; models joined by a bar are not "
                           "significantly different by the Nemenyi test.",
    "reliability": "Reliability diagrams: accuracy against confidence of the pooled "
                   "out-of-fold class probabilities, with the expected calibration error.",
}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _integer_epochs(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")


def _band(ax, epochs, mean, sd, colour, label, style="-", marker=None):
    mean, sd = np.asarray(mean, float), np.asarray(sd, float)
    every = max(1, len(epochs) // 12)
    ax.plot(epochs, mean, style, color=colour, lw=1.6, label=label, marker=marker,
            markevery=every, markersize=4)
    ax.fill_between(epochs, mean - sd, mean + sd, color=colour, alpha=0.15, lw=0)


def _fig1(result, save) -> None:
    from matplotlib.ticker import MaxNLocator

    norm = result.studies.normalisation
    names = norm.feature_names
    fig = _figure(1.9 * len(names), 3.8)
    axes = fig.subplots(2, len(names), squeeze=False)
    for j, name in enumerate(names):
        for row, hists in enumerate((norm.before, norm.after)):
            counts, edges = hists[j]
            ax = axes[row, j]
            ax.stairs(counts, edges, fill=True, color="tab:blue" if row else "tab:grey")
            ax.set_yticks([])
            ax.xaxis.set_major_locator(MaxNLocator(3))  # three ticks: labels never overlap
            ax.tick_params(labelsize=6, labelrotation=30)
            if row == 0:
                ax.set_title(name + (" (log)" if norm.log[j] else ""), fontsize=8)
    axes[0, 0].set_ylabel("raw", fontsize=8)
    axes[1, 0].set_ylabel("normalised", fontsize=8)
    save(fig, "fig1_normalisation")


def _fig2(result, save) -> None:
    studies = result.studies
    fig = _figure(6.5, 4)
    ax = fig.add_subplot()
    styles = (("tab:grey", "--", "o"), ("tab:green", "-", None), ("tab:red", ":", None))
    for run, (colour, style, marker) in zip(studies.optimisers, styles):
        epochs = np.arange(1, len(run.train_loss_mean) + 1)
        _band(ax, epochs, run.train_loss_mean, run.train_loss_sd, colour,
              f"{run.name} (lr {run.lr:g})", style, marker)
    ax.axhline(studies.constant_loss, color="k", lw=1,
               label=f"constant prediction ({studies.constant_loss:.4f})")
    _integer_epochs(ax)
    ax.set_ylabel("training loss (MSE)")
    ax.set_title("BP network: three optimisers")
    ax.legend(fontsize=8)
    save(fig, "fig2_optimisers")


def _fig4(result, save) -> None:
    fig = _figure(11, 4)
    axes = fig.subplots(1, 2)
    top = 0.0
    for curve, colour in zip(result.studies.pruning, ("tab:blue", "tab:purple")):
        x = curve.units_pruned
        one = len(x) == 1  # a single point is a marker, not a series: no legend entry
        train = np.array([np.nan if v is None else v for v in curve.train_loss], float)
        test = np.array([np.nan if v is None else v for v in curve.test_loss], float)
        label = "_nolegend_" if one else curve.label
        axes[0].plot(x, train, "o-", color=colour, label=label if one else f"{label}: train")
        axes[0].plot(x, test, "^--", color=colour, label=label if one else f"{label}: test")
        axes[1].plot(x, curve.test_accuracy, "^--", color=colour,
                     label=label if one else f"{label}: test")
        top = max(top, float(np.nanmax(np.r_[train, test, 0.0])))
    axes[0].set_ylim(0, max(top * 1.15, 1e-3))  # from zero: small changes look small
    axes[1].set_ylim(0, 1)
    axes[0].set_ylabel("loss (MSE, mean over folds)")
    axes[1].set_ylabel("test accuracy (mean over folds)")
    for ax in axes:
        ax.set_xlabel("hidden units pruned (mean per fold)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle("Distinctiveness pruning: after each prune-and-retrain round")
    save(fig, "fig4_pruning")


def _curves(result, save) -> None:
    runs = [m for m in result.models if m.result.curves.get("train_loss") is not None
            and m.result.curves["train_loss"].size]
    if not runs:
        return
    for fig_name, metric, ylabel in (("fig5_loss", "loss", "loss"),
                                     ("fig6_accuracy", "accuracy", "accuracy")):
        fig = _figure(5 * len(runs), 4)
        axes = fig.subplots(1, len(runs), squeeze=False)[0]
        for ax, run in zip(axes, runs):
            curves = run.result.curves
            for split, colour, style in (("train", "tab:blue", "-"), ("test", "tab:orange", "--")):
                c = curves.get(f"{split}_{metric}")
                if c is None or np.all(np.isnan(c)):
                    continue
                _band(ax, np.arange(1, len(c) + 1), np.nanmean(c, 1), np.nanstd(c, 1), colour,
                      split, style)
            loss_name = run.result.settings.get("loss", "cross-entropy")
            ax.set_ylabel(f"{ylabel} ({loss_name})" if metric == "loss" else ylabel)
            ax.set_title(f"{run.name}: {metric} (mean over folds, band +-1 sd)", fontsize=9)
            _integer_epochs(ax)
            ax.legend()
        save(fig, fig_name)


def _confusion(result, save) -> None:
    classes = result.data.class_names
    metrics = result.statistics.metrics
    fig = _figure(5.5 * len(metrics), 4.8)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, m in zip(axes, metrics):
        cm = np.asarray(m.confusion)
        rate = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(rate, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(classes)):
            for j in range(len(classes)):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if rate[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(classes)), classes, rotation=45, fontsize=7)
        ax.set_yticks(range(len(classes)), classes, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{m.model}: counts, shade = row share", fontsize=9)
    save(fig, "confusion")


def make_figures(result: ComparisonResult, out: Path, reserve) -> dict[str, str]:
    """Draw every figure of the report into ``out``; returns name -> file name.

    ``reserve(file_name)`` records each file as the run's own before it is written.
    """
    from bpnet.calibration import plot_reliability
    from bpnet.rank_tests import plot_critical_difference

    files: dict[str, str] = {}

    def save(fig, name, layout=True):
        reserve(f"{name}.png")
        if layout:  # bpnet's own plots arrive laid out
            fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=100)
        files[name] = f"{name}.png"

    if result.studies is not None:
        _fig1(result, save)
        _fig2(result, save)
        _fig4(result, save)
    _curves(result, save)
    _confusion(result, save)
    if result.statistics.friedman is not None:
        save(plot_critical_difference(result.statistics.friedman), "critical_difference",
             layout=False)
    save(plot_reliability(dict(result.statistics.reliability)), "reliability", layout=False)
    return files
