"""Cross-validation results, the same for both branches of the study.

The BP network (:func:`bpnet.cross_validate`) and the ResNet
(:func:`resnet_fer.train.cross_validate`) both return a :class:`CVResult`: per-fold
predictions, class scores and curves, pooled per-class metrics (the paper's Tables 1-2)
and one :meth:`~CVResult.summary` with the same keys, so the two can be compared from their
files alone. Everything is plain data: :meth:`~CVResult.to_json` and
:meth:`~CVResult.from_json` round-trip exactly.

Curves share their names across branches: :data:`CURVES` per epoch, one column per fold.
Samples are identified by ``sample_ids`` (for image folders ``"<Class>/<name>"``, which is
unique even when one image name sits in two class folders, as in SFEW).
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .json_values import read_json, to_json_value
from .metrics import (
    ClassMetrics,
    accuracy_mean_std,
    confusion_matrix,
    format_confusion,
    format_table,
    per_class_metrics,
    pool_confusion,
)

__all__ = ["CURVES", "CVResult", "FoldResult", "plot_curves"]

#: Per-epoch curves every branch records, in this order (more may follow, e.g. ``lr``).
CURVES = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
FORMAT = "bpnet-fer/cv-result"
VERSION = 1


def _floats(values) -> list:
    """``values`` flattened to floats, as :func:`~bpnet.json_values.to_json_value` writes
    them (NaN and inf become None: JSON has no NaN)."""
    return to_json_value(np.asarray(values, float).ravel())


def _unfloats(values, shape=None) -> np.ndarray:
    arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return arr if shape is None else arr.reshape(shape)


@dataclass
class FoldResult:
    """One trained fold.

    Attributes
    ----------
    test_idx : (n_test,) int64
        Rows of the whole set this fold was scored on.
    y_true, y_pred : (n_test,) int64
    scores : (n_test, n_classes) float64
        The model's class probabilities, rows summing to one, for every model (the ResNet's
        softmax; the BP network's ``predict_proba``, :mod:`bpnet.class_scores`);
        ``y_pred`` is their argmax.
    n_train : int
    train_accuracy : float
        The final model's accuracy on its training rows (clean: no augmentation).
    curves : dict of str -> list of float
        :data:`CURVES` (and any extra) per epoch.
    seconds : float or None
        Training time of this fold (None when folds trained together, as the BP stack).
    """

    test_idx: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: np.ndarray
    n_train: int
    train_accuracy: float
    curves: dict[str, list[float]] = field(default_factory=dict)
    seconds: float | None = None

    def __post_init__(self) -> None:
        self.test_idx = np.asarray(self.test_idx, np.int64)
        self.y_true = np.asarray(self.y_true, np.int64)
        self.y_pred = np.asarray(self.y_pred, np.int64)
        scores = np.asarray(self.scores, np.float64)
        self.scores = scores if scores.ndim == 2 else scores.reshape(len(self.test_idx), -1)

    @property
    def test_accuracy(self) -> float:
        return float(np.mean(self.y_true == self.y_pred)) if len(self.y_true) else float("nan")

    def confusion(self, n_classes: int) -> np.ndarray:
        return confusion_matrix(self.y_true, self.y_pred, n_classes)

    def to_dict(self) -> dict[str, Any]:
        return {"test_idx": self.test_idx.tolist(), "y_true": self.y_true.tolist(),
                "y_pred": self.y_pred.tolist(), "scores": _floats(self.scores),
                "n_classes": int(self.scores.shape[1]),
                "n_train": int(self.n_train), "train_accuracy": float(self.train_accuracy),
                "curves": {k: _floats(v) for k, v in self.curves.items()},
                "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FoldResult":
        n = len(d["test_idx"])
        return cls(np.asarray(d["test_idx"], np.int64), np.asarray(d["y_true"], np.int64),
                   np.asarray(d["y_pred"], np.int64),
                   _unfloats(d["scores"]).reshape(n, -1) if n else np.zeros((0, d["n_classes"])),
                   int(d["n_train"]), float(d["train_accuracy"]),
                   {k: _unfloats(v).tolist() for k, v in d["curves"].items()}, d["seconds"])


@dataclass
class CVResult:
    """All folds of one cross-validated model.

    Attributes
    ----------
    model : str
        ``"BP network"``, ``"ResNet"``...
    folds : list of FoldResult
    class_names : tuple of str
    n_samples : int
        Size of the whole set (fold ``test_idx`` index into it).
    sample_ids : list of str or None
        One id per row of the whole set.
    settings : dict
        Everything needed to repeat the run (the model's settings, split, seeds).
    meta : dict
        Versions, device, timing.
    extra : dict
        Branch-specific JSON data (e.g. the BP network's pruning history); its ``"summary"``
        entry adds keys to :meth:`summary`.
    trained : object or None
        The trained model(s) while in memory (the BP stack, for instance); not saved.
    """

    model: str
    folds: list[FoldResult]
    class_names: tuple[str, ...]
    n_samples: int
    sample_ids: list[str] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    trained: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def ensemble(cls, results: Sequence["CVResult"]) -> "CVResult":
        """Average several runs on the same folds (e.g. seeds): each fold's class scores are
        averaged and re-scored.

        The curves are the first run's; ``train_accuracy`` is the members' mean (the
        ensemble itself is not scored on the training folds); ``seconds`` is their sum.
        """
        if not results:
            raise ValueError("need at least one result to average")
        first = results[0]
        folds = []
        for k, fold in enumerate(first.folds):
            if any(len(r.folds) != len(first.folds) or
                   not np.array_equal(r.folds[k].test_idx, fold.test_idx) for r in results):
                raise ValueError(f"fold {k + 1} holds other test samples in some runs; "
                                 "only runs on the same splits can be averaged")
            members = [r.folds[k] for r in results]
            scores = np.mean([m.scores for m in members], axis=0)
            seconds = [m.seconds for m in members]
            folds.append(FoldResult(fold.test_idx, fold.y_true, scores.argmax(1), scores,
                                    fold.n_train, float(np.mean([m.train_accuracy for m in members])),
                                    fold.curves,
                                    None if None in seconds else float(sum(seconds))))
        settings = dict(first.settings, ensemble_seeds=[r.settings.get("seed") for r in results])
        meta = dict(first.meta, seconds=float(sum(r.meta.get("seconds") or 0.0 for r in results)))
        return cls(first.model, folds, first.class_names, first.n_samples, first.sample_ids,
                   settings, meta, dict(first.extra))

    # --- per fold and pooled --------------------------------------------------------
    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def confusions(self) -> np.ndarray:
        """(n_folds, C, C) test confusion matrices."""
        return np.stack([f.confusion(self.n_classes) for f in self.folds])

    @property
    def fold_test_accuracy(self) -> np.ndarray:
        return np.array([f.test_accuracy for f in self.folds])

    @property
    def fold_train_accuracy(self) -> np.ndarray:
        return np.array([f.train_accuracy for f in self.folds])

    @property
    def pooled(self) -> ClassMetrics:
        """Per-class metrics of the summed confusion matrix (the paper's Tables 1-2)."""
        return per_class_metrics(cm=pool_confusion(self.confusions))

    def accuracy(self) -> tuple[float, float]:
        """Mean and standard deviation (ddof=1) of the fold test accuracies."""
        return accuracy_mean_std(self.confusions)

    @property
    def curves(self) -> dict[str, np.ndarray]:
        """Each curve as an (epochs, n_folds) array (folds cut to the shortest)."""
        names = [c for c in self.folds[0].curves if all(c in f.curves for f in self.folds)]
        out = {}
        for name in names:
            length = min(len(f.curves[name]) for f in self.folds)
            out[name] = np.array([f.curves[name][:length] for f in self.folds], float).T
        return out

    # --- out of fold ----------------------------------------------------------------
    @property
    def y_true(self) -> np.ndarray:
        """Labels of the whole set (-1 for a row no fold tested)."""
        out = np.full(self.n_samples, -1, np.int64)
        for f in self.folds:
            out[f.test_idx] = f.y_true
        return out

    @property
    def y_pred(self) -> np.ndarray:
        """Out-of-fold prediction of every row (-1 for a row no fold tested)."""
        out = np.full(self.n_samples, -1, np.int64)
        for f in self.folds:
            out[f.test_idx] = f.y_pred
        return out

    def predictions(self) -> dict[str, dict[str, Any]]:
        """Out-of-fold predictions keyed by sample id: ``{id: {fold, true, pred, scores}}``."""
        ids = self.sample_ids or [str(i) for i in range(self.n_samples)]
        return {ids[i]: {"fold": k, "true": int(f.y_true[j]), "pred": int(f.y_pred[j]),
                         "scores": f.scores[j].tolist()}
                for k, f in enumerate(self.folds) for j, i in enumerate(f.test_idx)}

    # --- reporting ------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The numbers that describe the run; the same keys for every branch."""
        mean, std = self.accuracy()
        pooled = self.pooled
        seconds = self.meta.get("seconds")
        out = {"model": self.model, "folds": len(self.folds),
               "test_accuracy_mean": mean, "test_accuracy_std": std,
               "pooled_accuracy": float(pooled.accuracy),
               "train_accuracy_mean": float(np.mean(self.fold_train_accuracy)),
               "fold_test_accuracy": self.fold_test_accuracy.tolist(),
               "macro": {k: float(v) for k, v in pooled.macro.items()},
               "per_class": {name: {"precision": float(pooled.precision[c]),
                                    "recall": float(pooled.recall[c]),
                                    "specificity": float(pooled.specificity[c])}
                             for c, name in enumerate(self.class_names)},
               "seconds": None if seconds is None else float(seconds)}
        out.update(self.extra.get("summary", {}))
        return out

    def report(self, fmt: str = "text") -> str:
        """Accuracy, the pooled per-class table and the pooled confusion matrix."""
        s = self.summary()
        head = (f"{self.model}: test accuracy over {s['folds']} folds {s['test_accuracy_mean']:.1%}"
                f" +- {s['test_accuracy_std']:.1%} (pooled {s['pooled_accuracy']:.1%}; "
                f"train {s['train_accuracy_mean']:.1%})")
        return "\n".join([head, "", format_table(self.pooled, self.class_names, fmt=fmt), "",
                          format_confusion(pool_confusion(self.confusions), self.class_names,
                                           fmt=fmt)])

    # --- files ----------------------------------------------------------------------
    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``results.json`` (everything), ``report.md`` (:meth:`report`) and
        ``curves.png`` (:func:`plot_curves`) into ``out_dir``; returns their paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "results.json", "report": out / "report.md",
                 "curves": out / "curves.png"}
        self.to_json(paths["json"])
        paths["report"].write_text(self.report(fmt="markdown") + "\n")
        plot_curves([self], paths["curves"])
        return paths

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "model": self.model,
                "class_names": list(self.class_names), "n_samples": int(self.n_samples),
                "sample_ids": self.sample_ids, "settings": self.settings, "meta": self.meta,
                "extra": self.extra, "folds": [f.to_dict() for f in self.folds],
                "summary": to_json_value(self.summary())}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CVResult":
        if d.get("format") != FORMAT:
            raise ValueError("not a cross-validation result (format tag missing)")
        if d.get("version", 0) > VERSION:
            raise ValueError(f"result written by a newer version (format {d['version']})")
        return cls(d["model"], [FoldResult.from_dict(f) for f in d["folds"]],
                   tuple(d["class_names"]), int(d["n_samples"]), d.get("sample_ids"),
                   d.get("settings", {}), d.get("meta", {}), d.get("extra", {}))

    def to_json(self, path: str | Path | None = None) -> str:
        """The result as JSON text (written to ``path`` when given)."""
        text = json.dumps(self.to_dict(), allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "CVResult":
        """Read what :meth:`to_json` wrote (a path or the JSON text itself)."""
        return cls.from_dict(read_json(text_or_path))


def plot_curves(results: Sequence[CVResult], path: str | Path | None = None,
                what: Sequence[str] = ("loss", "accuracy")):
    """Train and test curves of one or several results: the mean over folds, a band of +-1 sd.

    Returns the matplotlib Figure (saved to ``path`` when given); no pyplot, no global state.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(what), 3.6 * len(results)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(results), len(what), squeeze=False)
    for row, res in zip(axes, results):
        curves = res.curves
        for ax, metric in zip(row, what):
            for split, colour in (("train", "tab:blue"), ("test", "tab:orange")):
                c = curves.get(f"{split}_{metric}")
                if c is None or c.size == 0 or np.all(np.isnan(c)):
                    continue
                epochs = np.arange(1, len(c) + 1)
                with warnings.catch_warnings():  # a fold without test rows is NaN throughout
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean, sd = np.nanmean(c, axis=1), np.nanstd(c, axis=1)
                ax.plot(epochs, mean, color=colour, lw=2, label=split)
                ax.fill_between(epochs, mean - sd, mean + sd, color=colour, alpha=0.2, lw=0)
            ax.set_title(f"{res.model}: {metric}")
            ax.set_xlabel("epoch")
            ax.set_ylabel(metric)
            ax.legend()
    fig.tight_layout()
    if path is not None:
        from .outdir import save_figure

        save_figure(fig, path, dpi=110)
    return fig
