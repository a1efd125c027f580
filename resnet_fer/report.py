"""The comparison report of ``fer-compare``: statistics, figures and the markdown/HTML text.

Everything here reads only the ``results.json`` document that :mod:`resnet_fer.compare`
writes, so every number in ``report.md`` and ``report.html`` comes from that file (the tests
check it). The report is built as a list of blocks (headings, paragraphs, tables, figures)
rendered to markdown or to one self-contained HTML page with the figures embedded.
"""
from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bpnet.results import CVResult

__all__ = ["PAPER", "compare_folds", "diagnose", "make_figures", "render"]

#: The student paper's published figures (its Tables 1-2 and the accuracies in its text).
PAPER: dict[str, Any] = {
    "bp": {"train_accuracy": 0.4136, "test_accuracy": 0.1162,
           "precision": [0.03, 0.02, 0.14, 0.27, 0.08, 0.14, 0.05],
           "recall": [0.03, 0.01, 0.16, 0.29, 0.07, 0.15, 0.06],
           "specificity": [0.84, 0.92, 0.83, 0.86, 0.85, 0.84, 0.82]},
    "resnet": {"train_accuracy": 0.95, "test_accuracy": 0.30,
               "precision": [0.25, 0.36, 0.20, 0.36, 0.23, 0.36, 0.47],
               "recall": [0.16, 0.25, 0.62, 0.33, 0.14, 0.32, 0.32],
               "specificity": [0.99, 0.99, 0.94, 0.99, 0.98, 0.98, 0.99]},
    "class_names": ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"],
    "note": "The paper's ResNet figures are read from its text ('around 95 %', 'about 30 %')."}

MODELS = (("bp", "BP network"), ("resnet", "ResNet"))


# --- analysis --------------------------------------------------------------------------
def compare_folds(bp: Sequence[float], resnet: Sequence[float]) -> dict[str, Any]:
    """Paired per-fold comparison of test accuracies: ResNet minus BP network.

    Returns the mean difference, its 95 % t-interval over folds, and the two-sided
    Wilcoxon signed-rank p-value (``scipy.stats.wilcoxon``; None when every difference is
    zero or there are fewer than two folds).
    """
    from scipy import stats

    d = np.asarray(resnet, float) - np.asarray(bp, float)
    k = len(d)
    mean = float(d.mean())
    if k > 1:
        half = float(stats.t.ppf(0.975, k - 1) * d.std(ddof=1) / math.sqrt(k))
        ci = [mean - half, mean + half]
    else:
        ci = [None, None]
    p = None
    if k > 1 and np.any(d != 0):
        p = float(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)
    return {"differences": d.tolist(), "mean_difference": mean, "ci95": ci, "wilcoxon_p": p,
            "folds": k}


def diagnose(summary: dict[str, Any], curves: dict[str, np.ndarray], chance: float) -> dict:
    """Under- or over-fitting, read from the final accuracies and the test-loss curve.

    * over-fitting: train accuracy exceeds test accuracy by more than 0.15, or the mean
      test loss ends more than 10 % above its minimum (it turned upward while training
      went on);
    * under-fitting: train accuracy below 0.6 (the model does not fit its training data
      well); both may hold at once;
    * otherwise: a reasonable fit.
    """
    train, test = summary["train_accuracy_mean"], summary["test_accuracy_mean"]
    gap = train - test
    test_loss = curves.get("test_loss")
    rise = None
    if test_loss is not None and test_loss.size and not np.all(np.isnan(test_loss)):
        mean_loss = np.nanmean(test_loss, axis=1)
        best = float(np.nanmin(mean_loss))
        rise = float(mean_loss[-1] / best - 1.0) if best > 0 else 0.0
    over = gap > 0.15 or (rise is not None and rise > 0.10)
    under = train < 0.6
    if over and under:
        verdict = ("under-fitting (it does not fit its training data well) and over-fitting "
                   "(what it does fit does not carry over to the test folds)")
    elif over:
        verdict = "over-fitting"
    elif under:
        verdict = "under-fitting"
    else:
        verdict = "a reasonable fit"
    return {"verdict": verdict, "train_accuracy": train, "test_accuracy": test, "gap": gap,
            "test_loss_rise": rise, "above_chance": test - chance}


# --- figures ---------------------------------------------------------------------------
def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _band(ax, epochs, mean, sd, colour, label, style="-"):
    mean, sd = np.asarray(mean, float), np.asarray(sd, float)
    ax.plot(epochs, mean, style, color=colour, lw=1.8, label=label)
    ax.fill_between(epochs, mean - sd, mean + sd, color=colour, alpha=0.18, lw=0)


def make_figures(doc: dict[str, Any], out: Path) -> dict[str, str]:
    """Draw every figure of the report from ``doc`` into ``out``; returns name -> file name."""
    files = {}

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        files[name.rsplit(".", 1)[0]] = name

    # Fig. 1: every feature before and after the normalisation
    norm = doc["normalisation"]
    names = norm["feature_names"]
    fig = _figure(1.7 * len(names), 3.6)
    axes = fig.subplots(2, len(names), squeeze=False)
    for j, name in enumerate(names):
        for row, key in enumerate(("before", "after")):
            h = norm[key][j]
            ax = axes[row, j]
            ax.stairs(h["counts"], h["edges"], fill=True, color="tab:blue" if row else "tab:grey")
            ax.set_yticks([])
            ax.tick_params(labelsize=6)
            if row == 0:
                ax.set_title(name + (" (log)" if norm["log"][j] else ""), fontsize=8)
        axes[0, 0].set_ylabel("raw", fontsize=8)
        axes[1, 0].set_ylabel("normalised", fontsize=8)
    save(fig, "fig1_normalisation.png")

    # Fig. 2: training loss of the BP network with SGD, momentum and Adam
    opt = doc["bp_optimizers"]
    fig = _figure(6, 4)
    ax = fig.add_subplot()
    for (name, run), colour in zip(opt["runs"].items(), ("tab:grey", "tab:green", "tab:red")):
        epochs = np.arange(1, len(run["train_loss_mean"]) + 1)
        _band(ax, epochs, run["train_loss_mean"], run["train_loss_sd"], colour,
              f"{name} (lr {run['lr']:g})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (MSE)")
    ax.set_title("BP network: three optimisers (mean over folds)")
    ax.legend()
    save(fig, "fig2_optimisers.png")

    # Fig. 4: loss and accuracy against hidden units pruned
    prune = doc["pruning"]
    fig = _figure(11, 4)
    axes = fig.subplots(1, 2)
    for run, colour in zip(prune.values(), ("tab:blue", "tab:purple")):
        x = run["units_pruned"]

        def values(key, run=run):  # JSON has no NaN: missing points are None
            return np.array([np.nan if v is None else v for v in run[key]], float)

        axes[0].plot(x, values("train_loss"), "o-", color=colour, label=f"{run['label']}: train")
        axes[0].plot(x, values("test_loss"), "^--", color=colour, label=f"{run['label']}: test")
        axes[1].plot(x, values("test_accuracy"), "^--", color=colour,
                     label=f"{run['label']}: test")
    axes[0].set_ylabel("loss (mean over folds)")
    axes[1].set_ylabel("test accuracy (mean over folds)")
    for ax in axes:
        ax.set_xlabel("hidden units pruned (mean per fold)")
        ax.legend(fontsize=7)
    fig.suptitle("Distinctiveness pruning: after each prune-and-retrain round")
    save(fig, "fig4_pruning.png")

    # Figs. 5-6: loss and accuracy curves of both models
    results = {key: CVResult.from_dict(doc[key]) for key, _ in MODELS}
    for fig_name, metric in (("fig5_loss", "loss"), ("fig6_accuracy", "accuracy")):
        fig = _figure(11, 4)
        axes = fig.subplots(1, 2)
        for ax, (key, label) in zip(axes, MODELS):
            curves = results[key].curves
            for split, colour in (("train", "tab:blue"), ("test", "tab:orange")):
                c = curves[f"{split}_{metric}"]
                _band(ax, np.arange(1, len(c) + 1), np.nanmean(c, 1), np.nanstd(c, 1), colour,
                      split)
            ax.set_title(f"{label}: {metric} (mean over folds, band +-1 sd)")
            ax.set_xlabel("epoch")
            ax.legend()
        save(fig, f"{fig_name}.png")

    # confusion matrices of both models
    fig = _figure(11, 4.6)
    axes = fig.subplots(1, 2)
    classes = doc["data"]["class_names"]
    for ax, (key, label) in zip(axes, MODELS):
        cm = np.asarray(doc["comparison"]["confusion"][key])
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
        ax.set_title(f"{label}: pooled confusion (counts, shade = row share)")
    save(fig, "confusion.png")
    return files


# --- text ------------------------------------------------------------------------------
def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def _points(x) -> str:
    """A difference of two accuracies, in percentage points."""
    return "n/a" if x is None else f"{100 * x:+.1f} points"


def _num(x, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


#: the first line of a ``--quick`` report
SMOKE_RUN = ("SMOKE RUN (--quick): a few epochs on a small network, only to check that every "
             "stage runs. Its numbers mean nothing and are not a result; run without --quick "
             "for the comparison.")


def _blocks(doc: dict[str, Any], figures: dict[str, str]) -> list[tuple]:
    """The report as ("h", level, text) / ("p", text) / ("table", header, rows) / ("img", ...)."""
    data, cmp_, s = doc["data"], doc["comparison"], doc["summary"]
    bp, rn = s["bp"], s["resnet"]
    quick = bool(doc["settings"].get("quick"))
    B: list[tuple] = [("p", SMOKE_RUN)] if quick else []
    B.append(("h", 1, f"BP network vs ResNet: facial expressions, {data['source']}"))
    B.append(("p", f"{data['n']} images, {len(data['class_names'])} classes; "
                   f"{doc['settings']['folds']}-fold {doc['settings']['split']} cross-validation; "
                   f"both models were scored on exactly the same test samples in every fold. "
                   f"Chance (the largest class) is {_pct(data['chance'])}. "
                   f"Device: {doc['settings']['device']}; run time {doc['timing']['total_seconds']:.0f} s."))
    for note in data.get("notes", []):
        B.append(("p", f"Data note: {note}"))
    # summary
    B.append(("h", 2, "Summary"))
    diff = cmp_["paired"]
    d = diff["mean_difference"]
    winner = "the ResNet" if d > 0 else "the BP network"
    ci = diff["ci95"]
    ci_text = ("" if ci[0] is None else
               f"; 95 % interval over folds {_points(ci[0])} to {_points(ci[1])}")
    p_text = ("" if diff["wilcoxon_p"] is None else
              f"; Wilcoxon signed-rank p = {_num(diff['wilcoxon_p'], 3)}")
    # a smoke run's numbers mean nothing, so it draws no conclusion from them
    verdict = "" if quick else f": {winner} is more accurate by {_points(abs(d))}"
    B.append(("p", f"Test accuracy: BP network {_pct(bp['test_accuracy_mean'])} +- "
                   f"{_pct(bp['test_accuracy_std'])}, ResNet {_pct(rn['test_accuracy_mean'])} +- "
                   f"{_pct(rn['test_accuracy_std'])} (mean +- sd over folds){verdict}. Per fold, "
                   f"ResNet minus BP network: mean "
                   f"{_points(d)}{ci_text}{p_text} ({diff['folds']} paired folds)."))
    for key, label in MODELS:
        d = cmp_["diagnosis"][key]
        B.append(("p", f"{label}: train {_pct(d['train_accuracy'])}, test {_pct(d['test_accuracy'])} "
                       f"(train minus test {_points(d['gap'])}; test minus chance "
                       f"{_points(d['above_chance'])}"
                       + ("" if d["test_loss_rise"] is None else
                          f"; the mean test loss ends {_pct(d['test_loss_rise'])} above its "
                          "lowest value")
                       + f"): {d['verdict']}."))
    paper = doc["paper"]
    B.append(("p", f"The paper reports train/test accuracy {_pct(paper['bp']['train_accuracy'])} / "
                   f"{_pct(paper['bp']['test_accuracy'])} for its BP network (below chance) and "
                   f"about {_pct(paper['resnet']['train_accuracy'])} / "
                   f"{_pct(paper['resnet']['test_accuracy'])} for its ResNet."))
    rows = [[label, _pct(s[key]["train_accuracy_mean"]), _pct(s[key]["test_accuracy_mean"]),
             _pct(s[key]["test_accuracy_std"]), _pct(s[key]["pooled_accuracy"]),
             _num(s[key]["macro"]["f1"], 3), _pct(paper[key]["test_accuracy"])]
            for key, label in MODELS]
    B.append(("table", ["model", "train acc.", "test acc.", "sd over folds", "pooled acc.",
                        "macro F1", "paper test acc."], rows))
    rows = [[str(k + 1), _pct(a), _pct(b), _points(dk)] for k, (a, b, dk) in enumerate(
        zip(bp["fold_test_accuracy"], rn["fold_test_accuracy"], diff["differences"]))]
    B.append(("table", ["fold", "BP network", "ResNet", "difference"], rows))
    # Tables 1-2
    B.append(("h", 2, "Tables 1-2: per-class precision, recall and specificity"))
    B.append(("p", "Pooled over the folds (the summed confusion matrix); the paper's published "
                   "values in brackets."))
    classes = data["class_names"]
    for key, label in MODELS:
        rows = []
        for metric in ("precision", "recall", "specificity"):
            rows.append([metric] + [
                f"{s[key]['per_class'][c][metric]:.2f} "
                f"({paper[key][metric][paper['class_names'].index(c)]:.2f})"
                if c in paper["class_names"] else f"{s[key]['per_class'][c][metric]:.2f}"
                for c in classes])
        B.append(("h", 3, f"{label}"))
        B.append(("table", [""] + list(classes), rows))
    # figures
    captions = {
        "fig1_normalisation": "Fig. 1: each feature before (grey) and after (blue) the "
                              "normalisation; skewed features are log-transformed first.",
        "fig2_optimisers": "Fig. 2: training loss of the BP network with SGD, SGD with momentum "
                           "and Adam (mean over folds, band +-1 sd).",
        "fig4_pruning": "Fig. 4: loss and accuracy after each round of distinctiveness pruning.",
        "fig5_loss": "Fig. 5: train and test loss of both models.",
        "fig6_accuracy": "Fig. 6: train and test accuracy of both models.",
        "confusion": "Pooled confusion matrices of both models.",
    }
    B.append(("h", 2, "The BP network"))
    bps = doc["settings"]["bp"]
    B.append(("p", f"{bps['n_inputs']}-{bps['n_hidden']}-{len(classes)}, {bps['hidden']} hidden "
                   f"and {bps['output']} output units, {bps['loss']} loss, {bps['optimizer']} "
                   f"(lr {bps['lr']:g}), {bps['epochs']} full-batch epochs, inputs normalised per "
                   "fold on its training rows (skewed features log-transformed), all folds "
                   "trained as one stack."))
    B.append(("img", "fig1_normalisation", captions["fig1_normalisation"]))
    B.append(("img", "fig2_optimisers", captions["fig2_optimisers"]))
    B.append(("h", 3, "Pruning"))
    for run in doc["pruning"].values():
        B.append(("p", f"{run['label']}: {_num(run['units_removed_mean'])} of {run['n_hidden']} "
                       f"hidden units removed per fold on average; test accuracy "
                       f"{_pct(run['test_accuracy'][0])} before, {_pct(run['test_accuracy'][-1])} "
                       f"after. {run['comment']}"))
    B.append(("img", "fig4_pruning", captions["fig4_pruning"]))
    B.append(("h", 2, "The ResNet"))
    rs = doc["settings"]["resnet"]
    B.append(("p", f"8 BasicBlocks (ResNet-18 layout), width {rs['width']}, {rs['stem']} stem, "
                   f"{rs['size']} px input, {rs['epochs']} epochs, batch {rs['batch_size']}, "
                   f"AdamW lr {rs['lr']:g}, weight decay {rs['weight_decay']:g}, label smoothing "
                   f"{rs['label_smoothing']:g}, dropout {rs['dropout']:g}, mixup/cutmix on "
                   f"{_pct(rs['augment']['mix_prob'])} of samples; trained from scratch."))
    for name in ("fig5_loss", "fig6_accuracy", "confusion"):
        B.append(("img", name, captions[name]))
    return [b for b in B if b[0] != "img" or b[1] in figures]


def render(doc: dict[str, Any], figures: dict[str, str], fmt: str = "markdown",
           folder: Path | None = None) -> str:
    """The report as markdown, or as one self-contained HTML page (figures read from ``folder``)."""
    blocks = _blocks(doc, figures)
    if fmt == "markdown":
        out = []
        for b in blocks:
            if b[0] == "h":
                out.append("#" * b[1] + " " + b[2])
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "table":
                out.append("| " + " | ".join(b[1]) + " |")
                out.append("|" + "|".join("---" for _ in b[1]) + "|")
                out.extend("| " + " | ".join(r) + " |" for r in b[2])
            else:
                out.append(f"![{b[2]}]({figures[b[1]]})")
            out.append("")
        return "\n".join(out)
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>fer-compare report</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
             "padding:3px 8px;text-align:right}img{max-width:100%}</style></head><body>"]
    for b in blocks:
        if b[0] == "h":
            parts.append(f"<h{b[1]}>{html.escape(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            parts.append(f"<p>{html.escape(b[1])}</p>")
        elif b[0] == "table":
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                           for r in b[2])
            parts.append(f"<table><tr>{head}</tr>{rows}</table>")
        else:
            data = base64.b64encode((folder / figures[b[1]]).read_bytes()).decode("ascii")
            parts.append(f"<figure><img src='data:image/png;base64,{data}' alt=''>"
                         f"<figcaption>{html.escape(b[2])}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
