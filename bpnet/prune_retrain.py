"""The paper's prune-retrain loop, its history, and the plot of its Fig. 4.

``prune_and_retrain`` alternates :meth:`DistinctivenessPruner.prune` with a
few epochs of full-batch training from the remaining weights, until no hidden
unit qualifies. For every round the history keeps the number of hidden units,
what was removed and why, and the loss and accuracy on the training patterns
(and on validation data, when given) at three moments: before pruning, right
after pruning (before any retraining: what the removal itself cost), and after
retraining.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .json_values import to_json_value
from .pruning import DistinctivenessPruner
from .training import Rows, evaluate, train

_MEASURES = ("train_before", "train_pruned", "train_after", "val_before", "val_pruned",
             "val_after")


@dataclass
class PruningRound:
    """One round: units before pruning, removals, and (loss, accuracy) at three moments."""

    round: int
    n_hidden: object  # int, or list per model
    removed: list
    train_before: tuple
    train_pruned: tuple
    train_after: tuple
    val_before: tuple | None = None
    val_pruned: tuple | None = None
    val_after: tuple | None = None


@dataclass
class PruningHistory:
    """What :func:`prune_and_retrain` did; ``to_dict`` is JSON-serialisable."""

    criterion: str
    compensate: bool
    rounds: list = field(default_factory=list)
    n_hidden_start: object = None
    n_hidden_end: object = None

    @property
    def removed(self) -> list:
        """All removal records, in order."""
        return [r for rnd in self.rounds for r in rnd.removed]

    def to_dict(self) -> dict:
        d = asdict(self)
        for rnd in d["rounds"]:
            for key, value in rnd.items():
                rnd[key] = to_json_value(value, finite=False)  # NaN kept: from_dict reads it
        d["n_hidden_start"] = to_json_value(self.n_hidden_start)
        d["n_hidden_end"] = to_json_value(self.n_hidden_end)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PruningHistory":
        rounds = [PruningRound(**{k: (tuple(v) if k in _MEASURES and v is not None else v)
                                  for k, v in r.items()}) for r in d["rounds"]]
        return cls(d["criterion"], d["compensate"], rounds, d["n_hidden_start"],
                   d["n_hidden_end"])


def prune_and_retrain(net, X, y, optimizer, epochs_per_round: int = 100, *,
                      pruner: DistinctivenessPruner | None = None, sample_weight=None,
                      validation_data=None, max_rounds: int | None = None,
                      progress: bool = False) -> PruningHistory:
    """Prune one unit (or a few), retrain from the remaining weights, repeat.

    Parameters
    ----------
    net : BPNetwork
        A trained network (or stack of networks); changed in place.
    X, y : arrays
        The training patterns: pruning statistics and retraining both use them.
    optimizer : bpnet.Optimizer
        Built on ``net.params``; its state is pruned with the units.
    epochs_per_round : int
        Full-batch retraining epochs after each pruning round.
    pruner : DistinctivenessPruner, optional
        Default: the paper's preset (correlation criterion, plain deletion).
    sample_weight : (n,) or (K, n), optional
        Training masks of a stack (one per fold).
    validation_data : (X_val, y_val) or (X_val, y_val, weight), optional
        Evaluated at the same three moments; for a stack, ``weight`` is
        typically each fold's test mask.
    max_rounds : int, optional
        Stop after this many rounds even if units still qualify.

    Returns
    -------
    PruningHistory
        Also stored as ``net.info["pruning"]`` so it is saved with the model.
    """
    pruner = DistinctivenessPruner() if pruner is None else pruner
    if epochs_per_round < 0:
        raise ValueError(f"epochs_per_round must be >= 0, got {epochs_per_round}")
    stacked = net.n_models is not None

    def live():
        return to_json_value(net.n_live_units())

    def measure():
        on_train = evaluate(net, X, y, sample_weight)
        if validation_data is None:
            return on_train, None
        Xv, yv, *wv = validation_data
        return on_train, evaluate(net, Xv, yv, wv[0] if wv else None)

    history = PruningHistory(pruner.criterion, pruner.compensate, n_hidden_start=live())
    done = np.zeros(net.n_models or 1, bool)  # stack models with nothing left to prune
    from tqdm.auto import tqdm  # imported when used: bpnet itself needs only NumPy

    bar = tqdm(desc="prune+retrain", unit="round", disable=not progress, leave=False)
    rnd = 0
    while max_rounds is None or rnd < max_rounds:
        before, val_before = measure()
        n_hidden = live()
        removed = pruner.prune(net, X, optimizer, sample_weight)
        if stacked:  # a model with nothing to prune this round is finished: it trains no more
            done[list(set(range(net.n_models)) - {r.model for r in removed})] = True
        if not removed:
            break
        rnd += 1
        pruned, val_pruned = measure()
        train(net, Rows(X, y, sample_weight), optimizer, epochs_per_round,
              active=~done if stacked else None)
        after, val_after = measure()
        history.rounds.append(PruningRound(rnd, n_hidden, [r.to_dict() for r in removed],
                                           before, pruned, after, val_before, val_pruned,
                                           val_after))
        bar.update()
        bar.set_postfix(hidden=str(live()))
    bar.close()
    history.n_hidden_end = live()
    net.info["pruning"] = history.to_dict()
    return history


def plot_pruning_history(history: PruningHistory, ax=None, path=None, model: int | None = None):
    """The paper's Fig. 4: loss against the number of pruned units.

    Plots, against the cumulative number of pruned units, the training loss
    right after each pruning step and after retraining (and the validation loss
    after retraining, when recorded), starting from the unpruned network. For a
    stack, ``model`` picks one fold (default: the mean over folds). Saves to ``path``
    when given; returns the matplotlib Axes.
    """
    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

        fig = Figure(figsize=(6, 4))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()

    def pick(values):
        v = np.asarray(values[0], dtype=float)
        return float(v if v.ndim == 0 else (v.mean() if model is None else v[model]))

    n_models = 1
    if history.rounds and np.ndim(history.rounds[0].n_hidden) and model is None:
        n_models = len(history.rounds[0].n_hidden)
    per_round = [len(r.removed) / n_models if model is None else
                 sum(1 for x in r.removed if x["model"] == model) for r in history.rounds]
    pruned_units = np.concatenate([[0.0], np.cumsum(per_round)])
    if len(history.rounds):
        # the curve starts at the trained, unpruned network (x = 0)
        start = pick(history.rounds[0].train_before)
        for key, style, label in (("train_pruned", "x--", "train, right after pruning"),
                                  ("train_after", "o-", "train, after retraining"),
                                  ("val_after", "^-", "validation, after retraining")):
            first = getattr(history.rounds[0], key)
            if first is None:
                continue
            y0 = start if key.startswith("train") else pick(history.rounds[0].val_before)
            ax.plot(pruned_units, [y0] + [pick(getattr(r, key)) for r in history.rounds], style,
                    label=label)
    ax.set_xlabel("hidden units pruned" + (" (mean per fold)" if n_models > 1 else ""))
    ax.set_ylabel("loss")
    ax.set_title(f"Distinctiveness pruning ({history.criterion}"
                 f"{', compensated' if history.compensate else ''})")
    if ax.lines:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no unit qualified for pruning", ha="center", transform=ax.transAxes)
    if path is not None:
        from .outdir import save_figure

        save_figure(ax.figure, path, dpi=120, bbox_inches="tight")
    return ax
