"""Cross-validation results: per-fold predictions, curves, and the paper's Table 2.

Metrics come from :mod:`bpnet.metrics`, so both branches of the study report the same way:
per-fold confusion matrices, their pooled sum (per-class precision, recall, specificity, F1),
and the mean and standard deviation of the fold accuracies.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bpnet.data.sfew import CLASS_NAMES
from bpnet.metrics import (
    ClassMetrics,
    accuracy_mean_std,
    confusion_matrix,
    format_confusion,
    format_table,
    per_class_metrics,
    pool_confusion,
)

__all__ = ["CURVES", "CVResult", "FoldResult"]

#: Per-epoch curves kept for every fold. Train figures are running means over the epoch's
#: augmented (and mixed) batches, test figures a clean pass over the fold's test set.
CURVES = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")


@dataclass
class FoldResult:
    """One trained fold.

    Attributes
    ----------
    test_idx : ndarray of int64, shape (n_test,)
        Indices into the full set.
    y_true, y_pred : ndarray of int64, shape (n_test,)
    probs : ndarray of float32, shape (n_test, n_classes)
        Softmax outputs of the final model.
    confusion : ndarray of int64, shape (n_classes, n_classes)
    history : dict of str -> list of float
        The :data:`CURVES`, one value per epoch.
    train_accuracy : float
        Clean (unaugmented, eval-mode) accuracy of the final model on its training set.
    seconds : float
        Wall time of training and evaluating this fold.
    """

    test_idx: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    probs: np.ndarray
    confusion: np.ndarray
    history: dict[str, list[float]]
    train_accuracy: float
    seconds: float

    @property
    def test_accuracy(self) -> float:
        return float(np.trace(self.confusion) / max(1, self.confusion.sum()))

    def to_state(self) -> dict[str, Any]:
        """Plain lists and numbers (checkpoint- and JSON-safe)."""
        return {"test_idx": self.test_idx.tolist(), "y_true": self.y_true.tolist(),
                "y_pred": self.y_pred.tolist(), "probs": self.probs.tolist(),
                "confusion": self.confusion.tolist(), "history": self.history,
                "train_accuracy": self.train_accuracy, "seconds": self.seconds}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> "FoldResult":
        return cls(np.asarray(s["test_idx"], np.int64), np.asarray(s["y_true"], np.int64),
                   np.asarray(s["y_pred"], np.int64), np.asarray(s["probs"], np.float32),
                   np.asarray(s["confusion"], np.int64), {k: list(v) for k, v in s["history"].items()},
                   float(s["train_accuracy"]), float(s["seconds"]))


@dataclass
class CVResult:
    """All folds of one cross-validation run.

    Attributes
    ----------
    folds : list of FoldResult
    class_names : tuple of str
    config : dict
        The :class:`resnet_fer.train.TrainConfig` as a dict.
    """

    folds: list[FoldResult]
    class_names: tuple[str, ...] = CLASS_NAMES
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ensemble(cls, results: Sequence["CVResult"]) -> "CVResult":
        """Average several runs on the same folds (e.g. seeds): each fold's softmax outputs
        are averaged and re-scored.

        The curves are the first run's; ``train_accuracy`` is the mean over the members (the
        ensemble itself is not scored on the training folds); ``seconds`` is their sum.
        """
        if not results:
            raise ValueError("need at least one result to average")
        first = results[0]
        folds = []
        for k, fold in enumerate(first.folds):
            members = [r.folds[k] for r in results]
            if any(len(r.folds) != len(first.folds) or not np.array_equal(m.test_idx, fold.test_idx)
                   for r, m in zip(results, members)):
                raise ValueError(f"fold {k + 1} holds other test samples in some runs; "
                                 "only runs on the same splits can be averaged")
            probs = np.mean([m.probs for m in members], axis=0).astype(np.float32)
            y_pred = probs.argmax(1)
            confusion = confusion_matrix(fold.y_true, y_pred, probs.shape[1])
            folds.append(FoldResult(fold.test_idx, fold.y_true, y_pred, probs, confusion,
                                    fold.history, float(np.mean([m.train_accuracy for m in members])),
                                    float(sum(m.seconds for m in members))))
        config = dict(first.config, ensemble_seeds=[r.config.get("seed") for r in results])
        return cls(folds, first.class_names, config)

    @property
    def confusions(self) -> np.ndarray:
        """(n_folds, n_classes, n_classes) int64."""
        return np.stack([f.confusion for f in self.folds])

    @property
    def fold_accuracies(self) -> np.ndarray:
        return np.array([f.test_accuracy for f in self.folds])

    def pooled(self) -> ClassMetrics:
        """Per-class metrics of the summed confusion matrix."""
        return per_class_metrics(cm=pool_confusion(self.confusions))

    def accuracy(self) -> tuple[float, float]:
        """Mean and standard deviation (ddof=1) of the fold accuracies."""
        return accuracy_mean_std(self.confusions)

    def predictions(self, n_samples: int | None = None) -> np.ndarray:
        """Out-of-fold prediction of every sample (-1 where a sample was in no test fold)."""
        n = n_samples or int(max(f.test_idx.max() for f in self.folds)) + 1
        out = np.full(n, -1, dtype=np.int64)
        for f in self.folds:
            out[f.test_idx] = f.y_pred
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers: accuracies, pooled macro metrics, train accuracy, time."""
        mean, std = self.accuracy()
        pooled = self.pooled()
        return {"folds": len(self.folds), "accuracy_mean": float(mean), "accuracy_std": float(std),
                "pooled_accuracy": float(pooled.accuracy),
                "macro": {k: float(v) for k, v in pooled.macro.items()},
                "fold_accuracies": self.fold_accuracies.round(4).tolist(),
                "train_accuracy_mean": float(np.mean([f.train_accuracy for f in self.folds])),
                "train_seconds": float(sum(f.seconds for f in self.folds))}

    def report(self, fmt: str = "text") -> str:
        """The paper's Table 2 (pooled per-class metrics), the confusion matrix and accuracies."""
        s = self.summary()
        lines = [f"accuracy over {s['folds']} folds: {s['accuracy_mean']:.1%} "
                 f"+- {s['accuracy_std']:.1%} (pooled {s['pooled_accuracy']:.1%}; "
                 f"clean train accuracy {s['train_accuracy_mean']:.1%})",
                 "", format_table(self.pooled(), self.class_names, fmt=fmt), "",
                 format_confusion(pool_confusion(self.confusions), self.class_names, fmt=fmt)]
        return "\n".join(lines)

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``results.json`` (summary, per-fold results, config), ``report.md`` and
        ``curves.png``; returns the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "results.json", "report": out / "report.md", "curves": out / "curves.png"}
        payload = {"summary": self.summary(), "class_names": list(self.class_names),
                   "config": self.config, "folds": [f.to_state() for f in self.folds]}
        paths["json"].write_text(json.dumps(payload) + "\n")
        paths["report"].write_text(self.report(fmt="markdown") + "\n")
        self.plot_curves(paths["curves"])
        return paths

    def plot_curves(self, path: str | Path, curves: Sequence[str] = ("loss", "acc")) -> Path:
        """Train/test loss and accuracy per epoch, one thin line per fold, the mean bold."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

        fig = Figure(figsize=(5 * len(curves), 3.6))
        FigureCanvasAgg(fig)
        for ax, what in zip(fig.subplots(1, len(curves), squeeze=False)[0], curves):
            for split, colour in (("train", "tab:blue"), ("test", "tab:orange")):
                runs = [f.history[f"{split}_{what}"] for f in self.folds]
                length = min(len(r) for r in runs)
                epochs = np.arange(1, length + 1)
                for r in runs:
                    ax.plot(epochs, r[:length], color=colour, alpha=0.25, lw=0.8)
                ax.plot(epochs, np.mean([r[:length] for r in runs], axis=0), color=colour, lw=2,
                        label=split)
            ax.set_xlabel("epoch")
            ax.set_ylabel("accuracy" if what == "acc" else "loss")
            ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        return Path(path)
