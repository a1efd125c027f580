"""The one training loop of bpnet, and evaluation.

:func:`train` is what :meth:`BPClassifier.fit <bpnet.BPClassifier.fit>`,
:func:`bpnet.cross_validate`, :func:`bpnet.prune_and_retrain` and model selection run. It
trains one network or a stack of ``K`` networks (one per fold, or per setting and fold) and
leaves everything a caller wants after an epoch to callbacks (:mod:`bpnet.callbacks`)::

    log = train(net, Rows(X, y, sample_weight=train_mask, monitor={"test": test_mask}),
                optimizer, 300, [Curves(), Progress("5 folds")], steps=MiniBatch(32))
    log.curves["train_loss"], log.curves["test_accuracy"]     # (epochs, K)

A row enters the loss through ``sample_weight`` (0 for a fold's test rows) and a curve
through its ``monitor`` mask, so one array of rows serves every fold and every curve. How an
epoch steps (full batch or mini-batches, input noise) is a step rule (:mod:`bpnet.steps`).
In full-batch training the curves cost nothing extra: the forward pass that starts epoch
``e + 1`` is the one that measures the network after epoch ``e`` (one more forward pass
measures the last epoch). The arithmetic is :class:`bpnet.fused.FusedPass`; its buffers
are allocated once per call, and the inputs are validated and laid out once per call.

Curves hold the loss (the training objective's weighting, class weights included) and the
accuracy of the network *after* each epoch, per model.
:class:`~bpnet.callbacks.EarlyStopping` stops each model of a stack on its own and keeps
its best epoch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ._batches import normalise_rows
from .callbacks import Callback, Curves, EarlyStopping, OnEpoch, Progress, Run, TrainLog
from .fused import FusedPass
from .input_checks import check_memory, check_sample_weight, check_X, check_y
from .losses import class_weight_of_rows
from .network import BPNetwork
from .optim import Optimizer, TrainingError
from .steps import FullBatch, MiniBatch, make_steps

__all__ = ["Callback", "Curves", "EarlyStopping", "FullBatch", "MiniBatch", "OnEpoch",
           "Progress", "Rows", "TrainLog", "TrainingError", "evaluate", "make_steps",
           "predict_outputs", "train"]


@dataclass(frozen=True)
class Rows:
    """The rows of a call to :func:`train`.

    Attributes
    ----------
    X : (n, d), or (K, n, d) for a stack with per-model inputs (e.g. per-fold normalisation)
    y : (n,) int labels ``0..C-1`` (or (K, n))
    sample_weight : (n,) or (K, n), optional
        Per-sample loss weights; 0 leaves a row out of a model's training (a fold's test
        rows). Default: every row, weight 1.
    monitor : dict of name -> (n,) or (K, n) weights, optional
        Sets of rows to measure after every epoch, e.g. ``{"test": test_mask}``.
    """

    X: Any
    y: Any
    sample_weight: Any = None
    monitor: dict | None = None


class _Sets:
    """Loss and accuracy weights of the named sets of rows, normalised once per call."""

    def __init__(self, net: BPNetwork, y: np.ndarray, weights: dict[str, np.ndarray], K: int):
        n = y.shape[-1]
        y2 = np.broadcast_to(np.atleast_2d(y), (K, n))
        cw = net.class_weight if net.loss_fn.class_weighted_mean else None
        self.loss_w, self.acc_w = {}, {}
        for name, raw in weights.items():
            raw = np.broadcast_to(np.atleast_2d(np.asarray(raw, dtype=net.dtype)), (K, n))
            lw = raw * class_weight_of_rows(cw, y2) if cw is not None else raw  # torch's weighted mean
            self.loss_w[name] = normalise_rows(lw)
            self.acc_w[name] = normalise_rows(raw)

    def measure(self, loss: np.ndarray, correct: np.ndarray) -> dict[str, np.ndarray]:
        """``"<set>_loss"`` and ``"<set>_accuracy"`` per model, ``(K,)`` float64 each."""
        hits, values = correct.astype(loss.dtype), {}
        for name in self.loss_w:
            values[f"{name}_loss"] = np.einsum("kn,kn->k", self.loss_w[name], loss).astype(np.float64)
            values[f"{name}_accuracy"] = np.einsum("kn,kn->k", self.acc_w[name], hits).astype(np.float64)
        return values


def _check_finite(loss: np.ndarray, epoch: int, epochs: int, stacked: bool, unit: str) -> None:
    bad = np.flatnonzero(~np.isfinite(loss))
    if bad.size == 0:
        return
    where = f" in {unit}(s) {bad.tolist()}" if stacked else ""
    if epoch == 0:
        raise TrainingError(f"the loss is {loss[bad[0]]} before any training{where}: "
                            "check the inputs for huge values")
    raise TrainingError(f"the training loss became {loss[bad[0]]} at epoch {epoch} of {epochs}"
                        f"{where}; try a smaller learning rate or normalised inputs")


def train(net: BPNetwork, data: Rows | tuple, optimizer: Optimizer, epochs: int,
          callbacks: Sequence[Callback] = (), *, steps: FullBatch | MiniBatch | None = None,
          rng: np.random.Generator | None = None, active=None, unit: str = "model") -> TrainLog:
    """Train ``net`` in place with ``optimizer`` for ``epochs`` epochs.

    Parameters
    ----------
    net : BPNetwork
        One network or a stack of ``K``.
    data : bpnet.training.Rows or tuple
        The rows: a :class:`Rows`, or ``(X, y)`` / ``(X, y, sample_weight)``.
    optimizer : Optimizer
        Built on ``net.params``.
    epochs : int
    callbacks : sequence of Callback
        What happens after every epoch (:mod:`bpnet.callbacks`):
        :class:`~bpnet.callbacks.Curves` records the curves,
        :class:`~bpnet.callbacks.EarlyStopping` stops models and keeps their best epochs,
        :class:`~bpnet.callbacks.Progress` shows a bar, :class:`~bpnet.callbacks.OnEpoch`
        calls a function. The loop measures
        every set after an epoch only when a callback needs it (``measures``); without
        such a callback it only trains (about a fifth of an epoch less work, and a
        diverging model is reported by the optimiser's check of every gradient).
    steps : bpnet.steps.FullBatch or bpnet.steps.MiniBatch, optional
        How an epoch steps (:mod:`bpnet.steps`); default full batch without input noise.
    rng : np.random.Generator, optional
        Shuffles the mini-batches and draws the input noise.
    active : (K,) bool, optional
        Models to train; the others are left exactly as they are (finished folds).
    unit : str
        What a model is called in error messages ("fold").

    Returns
    -------
    bpnet.callbacks.TrainLog

    Raises
    ------
    TrainingError
        The training loss became NaN or infinite (the message names the epoch and models).
    ValueError
        Bad shapes, labels or weights; a model with no training rows.
    """
    if not hasattr(optimizer, "step"):  # the old train(net, X, y, optimizer, epochs, ...)
        raise TypeError("train(net, data, optimizer, epochs, callbacks): pass the rows as "
                        "Rows(X, y, sample_weight, monitor) or a tuple (X, y[, sample_weight])")
    data = data if isinstance(data, Rows) else Rows(*data)
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    epochs, stacked = int(epochs), net.n_models is not None
    K = net.n_models or 1
    X = check_X(data.X, net.n_inputs, net.n_models, net.dtype)
    n = X.shape[-2]
    y = check_y(data.y, n, net.n_outputs, net.n_models)
    sw = check_sample_weight(data.sample_weight, n, net.n_models)
    sw = np.ones((K, n)) if sw is None else np.broadcast_to(np.atleast_2d(sw), (K, n))
    n_rows = (sw > 0).sum(axis=1)
    if np.any(n_rows == 0):
        raise ValueError(f"no training rows (all sample weights 0) for {unit}(s) "
                         f"{np.flatnonzero(n_rows == 0).tolist()}")
    monitor = dict(data.monitor or {})
    if "train" in monitor:
        raise ValueError("'train' is the training set's own curve; name monitored sets otherwise")
    for name, mask in monitor.items():
        monitor[name] = check_sample_weight(mask, n, net.n_models)
    running = np.ones(K, bool) if active is None else np.asarray(active, bool).copy()
    if running.shape != (K,):
        raise ValueError(f"active must have shape ({K},), got {running.shape}")

    # the fused pass's buffers (about 3 x (H + C) values per row and model), the optimiser's
    # state (up to 3 copies of the weights) and the curves
    per_model = 3 * (net.n_hidden + net.n_outputs + 2) * n + 4 * (
        (net.n_inputs + 1 + net.n_outputs) * net.n_hidden)
    curves = 2 * (1 + len(monitor)) * epochs * 8  # float64 loss and accuracy of every set
    check_memory((per_model * net.dtype.itemsize + curves) * K,
                 f"training {K} model(s) of {net.n_hidden} hidden units on {n} rows for "
                 f"{epochs:,} epochs")
    full = FusedPass(net, n)
    XaT, T = full.inputs(X), full.targets(y)
    sets = _Sets(net, y, {"train": sw, **monitor}, K)
    w_train = sets.loss_w["train"]
    stepper = (steps or FullBatch()).bind(net, full, XaT, T, sw, w_train)
    if stepper.random and rng is None:
        rng = np.random.default_rng()
    run = Run(net, epochs, tuple(sets.loss_w), running)
    callbacks = list(callbacks)
    measure = any(cb.measures for cb in callbacks)
    done = 0
    # Overflow in a diverging model is reported once, as a TrainingError naming the epoch
    # and the model, not as a stream of NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        try:
            for cb in callbacks:
                cb.on_train_begin(run)
            full.forward(XaT)
            loss = full.per_sample_loss(T)
            _check_finite(np.einsum("kn,kn->k", w_train, loss), 0, epochs, stacked, unit)
            for e in range(epochs):
                if not run.running.any():
                    break
                act = None if run.running.all() else run.running
                try:
                    stepper.epoch(optimizer, rng, act)
                except TrainingError as exc:
                    raise TrainingError(f"epoch {e + 1} of {epochs}: {exc}") from None
                done = e + 1
                values = None
                if measure:  # every model is measured; one that no longer trains repeats
                    full.forward(XaT)
                    values = sets.measure(full.per_sample_loss(T), full.correct(y))
                    _check_finite(values["train_loss"], done, epochs, stacked, unit)
                elif stepper.reuses_forward and done < epochs:  # the next step needs it
                    full.forward(XaT)
                for cb in callbacks:
                    cb.on_epoch_end(run, done, values)
        finally:
            for cb in callbacks:
                cb.close()
    log = TrainLog(epochs_run=done)
    for cb in callbacks:
        cb.on_train_end(run, log)
    return log


def evaluate(net: BPNetwork, X, y, sample_weight=None):
    """Loss and accuracy: floats for one network, ``(K,)`` arrays for a stack.

    The loss weighs samples as training does (``sample_weight``, class weights); the
    accuracy counts, for model k, the samples its weights select (weighted by them).
    """
    K = net.n_models or 1
    X = check_X(X, net.n_inputs, net.n_models, net.dtype)
    n = X.shape[-2]
    y = check_y(y, n, net.n_outputs, net.n_models)
    sw = check_sample_weight(sample_weight, n, net.n_models)
    fused = FusedPass(net, n)
    XaT, T = fused.inputs(X), fused.targets(y)
    sets = _Sets(net, y, {"eval": np.ones(n) if sw is None else sw}, K)
    fused.forward(XaT)
    values = sets.measure(fused.per_sample_loss(T), fused.correct(y))
    loss, acc = values["eval_loss"], values["eval_accuracy"]
    if net.n_models is None:
        return float(loss[0]), float(acc[0])
    return loss, acc


def predict_outputs(net: BPNetwork, X, *, logits: bool = False) -> np.ndarray:
    """The network's outputs as training computes them: (n, C), or (K, n, C) for a stack.

    With ``logits=True``: the output layer's pre-activations ``Z2`` instead, from the same
    pass (for ``output="identity"`` the two are the same). Probabilities are best computed
    from these: ``log(sigmoid(z))`` stays finite where ``sigmoid(z)`` rounds to 0 or 1.
    """
    X = check_X(X, net.n_inputs, net.n_models, net.dtype)
    fused = FusedPass(net, X.shape[-2])
    out = fused.forward(fused.inputs(X))
    out = (fused.logits if logits else out).transpose(0, 2, 1).copy()
    return out[0] if net.n_models is None else out
