"""A frozen copy of ``bpnet.training.train`` as it was before the callbacks (commit 1baa8d2).

The oracle of tests/test_training_callbacks.py: today's loop, with its 14 keyword
arguments, must give the same parameters and curves bit for bit as ``train`` with
callbacks and step rules. Do not edit: it records the old behaviour.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from bpnet._batches import InputNoise, MiniBatches, normalise_rows
from bpnet.fused import FusedPass
from bpnet.input_checks import check_memory, check_sample_weight, check_X, check_y
from bpnet.losses import class_weight_of_rows
from bpnet.network import BPNetwork
from bpnet.optim import Optimizer, TrainingError
from bpnet.training import EarlyStopping, TrainLog


def _per_model(net: BPNetwork, arrays: dict) -> dict:
    """Views with a leading model axis, also for one network (so one code path serves both)."""
    return arrays if net.n_models is not None else {k: v[None] for k, v in arrays.items()}


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

    def record(self, curves: dict, e: int, loss: np.ndarray, correct: np.ndarray) -> None:
        hits = correct.astype(loss.dtype)
        for name in self.loss_w:
            curves[f"{name}_loss"][e] = np.einsum("kn,kn->k", self.loss_w[name], loss)
            curves[f"{name}_accuracy"][e] = np.einsum("kn,kn->k", self.acc_w[name], hits)


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


class _Stopper:
    """Per-model best score, best parameters and patience counter for :class:`EarlyStopping`."""

    def __init__(self, rule: EarlyStopping, net: BPNetwork, K: int):
        self.rule, self.net = rule, net
        self.best = np.full(K, np.inf)  # stored as "lower is better"
        self.best_epoch = np.zeros(K, dtype=np.int64)
        self.stopped = np.zeros(K, dtype=np.int64)
        self.wait = np.zeros(K, dtype=np.int64)
        self.params = {k: v.copy() for k, v in _per_model(net, net.params).items()}
        self.mask = None if net.unit_mask is None else np.atleast_2d(net.unit_mask).copy()

    def update(self, curves: dict, e: int, running: np.ndarray) -> np.ndarray:
        """Note epoch ``e`` (0-based row of the curves); returns the models still running."""
        score = curves[f"{self.rule.monitor}_{self.rule.metric}"][e]
        if self.rule.metric == "accuracy":
            score = -score
        better = running & (score < self.best - self.rule.tol)
        self.best[better] = score[better]
        self.best_epoch[better] = e + 1
        self.wait[better] = 0
        self.wait[running & ~better] += 1
        if better.any() and self.rule.restore_best:
            for name, p in _per_model(self.net, self.net.params).items():
                self.params[name][better] = p[better]
        if self.rule.patience is None:
            return running
        stop = running & (self.wait >= self.rule.patience)
        self.stopped[stop] = e + 1
        return running & ~stop

    def restore(self) -> None:
        if not self.rule.restore_best:
            return
        keep = self.best_epoch > 0
        for name, p in _per_model(self.net, self.net.params).items():
            p[keep] = self.params[name][keep]


def legacy_train(net: BPNetwork, X, y, optimizer: Optimizer, epochs: int, *, sample_weight=None,
          monitor: dict | None = None, batch_size: int | None = None,
          rng: np.random.Generator | None = None, early_stopping: EarlyStopping | None = None,
          active=None, input_noise=0.0, progress: bool = False, desc: str = "training",
          unit: str = "model", curves: bool = True,
          on_epoch: Callable[[int, dict], None] | None = None) -> TrainLog:
    """Train ``net`` in place with ``optimizer`` for ``epochs`` epochs.

    Parameters
    ----------
    net : BPNetwork
        One network or a stack of ``K``.
    X : (n, d), or (K, n, d) for a stack with per-model inputs (e.g. per-fold normalisation)
    y : (n,) int labels ``0..C-1`` (or (K, n))
    optimizer : Optimizer
        Built on ``net.params``.
    epochs : int
    sample_weight : (n,) or (K, n), optional
        Per-sample loss weights; 0 leaves a row out of a model's training (a fold's test
        rows). Default: every row, weight 1.
    monitor : dict of name -> (n,) or (K, n) weights, optional
        Sets of rows to record curves for, e.g. ``{"test": test_mask}``.
    batch_size : int, optional
        Mini-batch size; None trains on all rows at once (full batch). Each model's
        training rows are shuffled every epoch (with ``rng``) and cut into batches; a model
        whose rows run out before the others' skips the remaining steps of the epoch.
    rng : np.random.Generator, optional
        Shuffles the mini-batches.
    early_stopping : EarlyStopping, optional
        Stop each model on its own ``monitor`` set and keep its best epoch.
    active : (K,) bool, optional
        Models to train; the others are left exactly as they are (finished folds).
    input_noise : float or (K,) array
        Standard deviation of Gaussian noise added to every input feature of the rows a
        step trains on, drawn afresh (with ``rng``) for every step: a regulariser that
        smooths the learned function. The curves measure the network on the clean inputs
        (in full-batch training that costs one more forward pass per epoch). A ``(K,)``
        array gives each model of a stack its own; 0 (default) trains on the inputs as
        they are.
    progress : bool
        A progress bar over epochs.
    desc, unit : str
        The bar's label, and what a model is called in error messages ("fold").
    curves : bool
        Record the per-epoch curves (default). False only trains: no loss or accuracy is
        computed after each epoch (a caller that scores the network itself, such as model
        selection's checkpoints, saves about a fifth of an epoch), the log's ``curves`` are
        empty, and a diverging model is reported by the optimiser's check of every gradient
        instead of the loss. Not with ``monitor``, ``early_stopping`` or ``on_epoch``.
    on_epoch : callable, optional
        ``on_epoch(epoch, values)`` after every epoch: ``epoch`` counts from 1 and ``values``
        maps each curve name to its value for this epoch (a float for one network, a
        ``(K,)`` array for a stack). :class:`~bpnet.BPClassifier` prints its ``verbose``
        lines with it.

    Returns
    -------
    TrainLog

    Raises
    ------
    TrainingError
        The training loss became NaN or infinite (the message names the epoch and models).
    ValueError
        Bad shapes, labels or weights; a model with no training rows.
    """
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    epochs, stacked = int(epochs), net.n_models is not None
    K = net.n_models or 1
    X = check_X(X, net.n_inputs, net.n_models, net.dtype)
    n = X.shape[-2]
    y = check_y(y, n, net.n_outputs, net.n_models)
    sw = check_sample_weight(sample_weight, n, net.n_models)
    sw = np.ones((K, n)) if sw is None else np.broadcast_to(np.atleast_2d(sw), (K, n))
    n_rows = (sw > 0).sum(axis=1)
    if np.any(n_rows == 0):
        raise ValueError(f"no training rows (all sample weights 0) for {unit}(s) "
                         f"{np.flatnonzero(n_rows == 0).tolist()}")
    monitor = dict(monitor or {})
    if "train" in monitor:
        raise ValueError("'train' is the training set's own curve; name monitored sets otherwise")
    for name, mask in monitor.items():
        monitor[name] = check_sample_weight(mask, n, net.n_models)
    if early_stopping is not None and early_stopping.monitor not in monitor:
        raise ValueError(f"early stopping watches {early_stopping.monitor!r}, which is not among "
                         f"the monitored sets {sorted(monitor)}")
    if not curves and (monitor or early_stopping is not None or on_epoch is not None):
        raise ValueError("monitor, early_stopping and on_epoch need the curves (curves=True)")
    running = np.ones(K, bool) if active is None else np.asarray(active, bool).copy()
    if running.shape != (K,):
        raise ValueError(f"active must have shape ({K},), got {running.shape}")

    # the fused pass's buffers (about 3 x (H + C) values per row and model), the optimiser's
    # state (up to 3 copies of the weights) and the curves
    per_model = 3 * (net.n_hidden + net.n_outputs + 2) * n + 4 * (
        (net.n_inputs + 1 + net.n_outputs) * net.n_hidden)
    check_memory(per_model * K * net.dtype.itemsize,
                 f"training {K} model(s) of {net.n_hidden} hidden units on {n} rows")
    full = FusedPass(net, n)
    XaT, T = full.inputs(X), full.targets(y)
    noise = InputNoise.make(input_noise, K, net.dtype)
    if noise is not None and rng is None:
        rng = np.random.default_rng()
    sets = _Sets(net, y, {"train": sw, **monitor}, K)
    w_train = sets.loss_w["train"]
    log_curves = {f"{s}_{m}": np.full((epochs if curves else 0, K), np.nan) for s in sets.loss_w
                  for m in ("loss", "accuracy")}
    stopper = None if early_stopping is None else _Stopper(early_stopping, net, K)
    minibatch = batch_size is not None and int(batch_size) < int(n_rows.max())
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if minibatch:
        rng = np.random.default_rng() if rng is None else rng
        batches = MiniBatches(net, XaT, T, sw, int(batch_size), noise)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=desc, unit="epoch", leave=False)
    done = 0
    # Overflow in a diverging model is reported once, as a TrainingError naming the epoch
    # and the model, not as a stream of NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        try:
            full.forward(XaT)
            loss = full.per_sample_loss(T)
            _check_finite(np.einsum("kn,kn->k", w_train, loss), 0, epochs, stacked, unit)
            for e in range(epochs):
                if not running.any():
                    break
                act = None if running.all() else running
                try:
                    if minibatch:
                        batches.epoch(optimizer, rng, act)
                    elif noise is not None:  # a step on noisy inputs; the curves stay clean
                        Xn = noise.add(XaT, rng)
                        full.forward(Xn)
                        optimizer.step(full.backward(Xn, T, w_train), active=act)
                    else:  # the forward of the previous iteration measured these parameters
                        optimizer.step(full.backward(XaT, T, w_train), active=act)
                except TrainingError as exc:
                    raise TrainingError(f"epoch {e + 1} of {epochs}: {exc}") from None
                done = e + 1
                if not curves:  # only the next full-batch step needs a forward pass
                    if not (minibatch or noise is not None or done == epochs):
                        full.forward(XaT)
                    if bar is not None:
                        bar.update(1)
                    continue
                full.forward(XaT)
                # every model is measured; one that no longer trains repeats its values
                sets.record(log_curves, e, full.per_sample_loss(T), full.correct(y))
                _check_finite(log_curves["train_loss"][e], e + 1, epochs, stacked, unit)
                if stopper is not None:
                    running = stopper.update(log_curves, e, running)
                if on_epoch is not None:
                    on_epoch(done, {k: (v[e].copy() if stacked else float(v[e, 0]))
                                    for k, v in log_curves.items()})
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{np.nanmean(log_curves['train_loss'][e]):.4f}")
        finally:
            if bar is not None:
                bar.close()
    if stopper is not None:
        stopper.restore()
    log = TrainLog({k: v[:done] for k, v in log_curves.items()} if curves else {}, done)
    if stopper is not None:
        log.best_epoch, log.stopped_epoch = stopper.best_epoch, stopper.stopped
    if not stacked:
        log.curves = {k: v[:, 0] for k, v in log.curves.items()}
        if stopper is not None:
            log.best_epoch, log.stopped_epoch = int(log.best_epoch[0]), int(log.stopped_epoch[0])
    return log
