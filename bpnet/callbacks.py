"""What :func:`bpnet.training.train` does after every epoch, as callbacks.

The loop trains and, when a callback asks for it (``measures``), measures the loss and the
accuracy of every named set of rows after each epoch; everything else is a callback:

* :class:`Curves` keeps those values as the per-epoch curves of the :class:`TrainLog`;
* :class:`EarlyStopping` stops each model of a stack on its own and keeps its best epoch;
* :class:`Progress` shows a progress bar;
* :class:`OnEpoch` calls a function of the caller's (``BPClassifier``'s ``verbose`` lines).

A callback sees the call through a :class:`Run`: the network, the epochs asked for, the
names of the measured sets and ``running``, the models still training (early stopping
clears entries).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .network import BPNetwork

__all__ = ["Callback", "Curves", "EarlyStopping", "OnEpoch", "Progress", "Run", "TrainLog"]


@dataclass
class TrainLog:
    """What :func:`~bpnet.training.train` recorded.

    Attributes
    ----------
    curves : dict of arrays
        With :class:`Curves`: ``"<set>_loss"`` and ``"<set>_accuracy"`` for ``"train"`` and
        every monitored set, each ``(epochs_run, K)`` (``(epochs_run,)`` for one network);
        row ``e`` is the network after epoch ``e + 1``. A model stopped early (or not
        ``active``) keeps its parameters, so its curves repeat their last values.
    epochs_run : int
        Epochs trained (fewer than asked when every model stopped early).
    best_epoch : (K,) int array, int, or None
        With early stopping: the epoch (1-based) each model ended with.
    stopped_epoch : (K,) int array, int, or None
        With early stopping: the epoch each model stopped at (0: it never stopped).
    """

    curves: dict[str, np.ndarray] = field(default_factory=dict)
    epochs_run: int = 0
    best_epoch: np.ndarray | int | None = None
    stopped_epoch: np.ndarray | int | None = None


@dataclass
class Run:
    """One call to :func:`~bpnet.training.train`, as its callbacks see it.

    Attributes
    ----------
    net : BPNetwork
    epochs : int
        Epochs asked for.
    sets : tuple of str
        The measured sets: ``"train"``, then the monitored ones.
    running : (K,) bool array
        The models still training; a callback may clear entries (that model stops).
    """

    net: BPNetwork
    epochs: int
    sets: tuple
    running: np.ndarray

    @property
    def stacked(self) -> bool:
        return self.net.n_models is not None


class Callback:
    """A hook of :func:`~bpnet.training.train`; every method does nothing unless overridden.

    ``measures``: the loop measures every set after each epoch for this callback (the
    ``values`` of :meth:`on_epoch_end`); otherwise it passes ``values=None``.
    """

    measures = True

    def on_train_begin(self, run: Run) -> None:
        """Before the first epoch (after the inputs are checked)."""

    def on_epoch_end(self, run: Run, epoch: int, values: dict | None) -> None:
        """After epoch ``epoch`` (1-based); ``values`` maps ``"<set>_<loss|accuracy>"`` to a
        ``(K,)`` float64 array (one network: ``K = 1``)."""

    def on_train_end(self, run: Run, log: TrainLog) -> None:
        """After the last epoch, on success; may fill in ``log``."""

    def close(self) -> None:
        """Always, also when training failed (release a progress bar)."""


class Curves(Callback):
    """Record the values of every epoch as the log's curves."""

    def on_train_begin(self, run: Run) -> None:
        K = run.net.n_models or 1
        self.curves = {f"{s}_{m}": np.full((run.epochs, K), np.nan) for s in run.sets
                       for m in ("loss", "accuracy")}
        self.done = 0

    def on_epoch_end(self, run: Run, epoch: int, values: dict | None) -> None:
        for name, v in values.items():
            self.curves[name][epoch - 1] = v
        self.done = epoch

    def on_train_end(self, run: Run, log: TrainLog) -> None:
        log.curves = {k: (v[:self.done] if run.stacked else v[:self.done, 0])
                      for k, v in self.curves.items()}


@dataclass
class EarlyStopping(Callback):
    """Watch a monitored set and keep, per model, the epoch where it scored best.

    Parameters
    ----------
    monitor : str
        Name of a ``monitor`` set of the training rows (e.g. ``"val"``).
    metric : {"loss", "accuracy"}
        What counts as better: a lower loss or a higher accuracy.
    patience : int or None
        A model stops after this many epochs without an improvement larger than ``tol``
        (scikit-learn's ``n_iter_no_change``). None trains every epoch and only keeps the
        best one (model selection's "best epoch").
    tol : float
        Smallest change that counts as an improvement.
    restore_best : bool
        End each model with the parameters of its best epoch.
    """

    monitor: str = "val"
    metric: str = "loss"
    patience: int | None = 10
    tol: float = 1e-4
    restore_best: bool = True

    def __post_init__(self) -> None:
        if self.metric not in ("loss", "accuracy"):
            raise ValueError(f"metric must be 'loss' or 'accuracy', got {self.metric!r}")
        if self.patience is not None and (int(self.patience) != self.patience or self.patience < 1):
            raise ValueError(f"patience must be a positive integer or None, got {self.patience!r}")
        if self.tol < 0:
            raise ValueError(f"tol must be non-negative, got {self.tol}")

    def on_train_begin(self, run: Run) -> None:
        if self.monitor not in run.sets[1:]:
            raise ValueError(f"early stopping watches {self.monitor!r}, which is not among "
                             f"the monitored sets {sorted(run.sets[1:])}")
        net, K = run.net, run.net.n_models or 1
        self._best = np.full(K, np.inf)  # stored as "lower is better"
        self._best_epoch = np.zeros(K, dtype=np.int64)
        self._stopped = np.zeros(K, dtype=np.int64)
        self._wait = np.zeros(K, dtype=np.int64)
        self._params = {k: v.copy() for k, v in _per_model(net, net.params).items()}

    def on_epoch_end(self, run: Run, epoch: int, values: dict | None) -> None:
        score = values[f"{self.monitor}_{self.metric}"]
        if self.metric == "accuracy":
            score = -score
        running = run.running
        better = running & (score < self._best - self.tol)
        self._best[better] = score[better]
        self._best_epoch[better] = epoch
        self._wait[better] = 0
        self._wait[running & ~better] += 1
        if better.any() and self.restore_best:
            for name, p in _per_model(run.net, run.net.params).items():
                self._params[name][better] = p[better]
        if self.patience is None:
            return
        stop = running & (self._wait >= self.patience)
        self._stopped[stop] = epoch
        run.running = running & ~stop

    def on_train_end(self, run: Run, log: TrainLog) -> None:
        if self.restore_best:
            keep = self._best_epoch > 0
            for name, p in _per_model(run.net, run.net.params).items():
                p[keep] = self._params[name][keep]
        if run.stacked:
            log.best_epoch, log.stopped_epoch = self._best_epoch, self._stopped
        else:
            log.best_epoch, log.stopped_epoch = int(self._best_epoch[0]), int(self._stopped[0])


class Progress(Callback):
    """A progress bar over the epochs (with the mean training loss when it is measured)."""

    measures = False

    def __init__(self, desc: str = "training"):
        self.desc, self.bar = desc, None

    def on_train_begin(self, run: Run) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=run.epochs, desc=self.desc, unit="epoch", leave=False)

    def on_epoch_end(self, run: Run, epoch: int, values: dict | None) -> None:
        self.bar.update(1)
        if values is not None:
            self.bar.set_postfix(loss=f"{np.nanmean(values['train_loss']):.4f}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class OnEpoch(Callback):
    """Call ``fn(epoch, values)`` after every epoch: ``epoch`` counts from 1 and ``values``
    maps each curve name to its value for this epoch (a float for one network, a ``(K,)``
    array for a stack)."""

    def __init__(self, fn: Callable[[int, dict], None]):
        self.fn = fn

    def on_epoch_end(self, run: Run, epoch: int, values: dict | None) -> None:
        self.fn(epoch, {k: (v.copy() if run.stacked else float(v[0])) for k, v in values.items()})


def _per_model(net: BPNetwork, arrays: dict) -> dict:
    """Views with a leading model axis, also for one network (so one code path serves both)."""
    return arrays if net.n_models is not None else {k: v[None] for k, v in arrays.items()}
