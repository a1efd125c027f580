"""Many small networks of different settings trained as stacks: the engine of model selection.

:func:`bpnet.model_selection.grid_search_cv` describes every model it needs (a setting of
the grid and a block of rows: one inner fold of one outer fold) as a :class:`ModelSpec`;
:func:`fit_models` trains them. Models that can share one :class:`~bpnet.network.BPNetwork` stack
do so:

* **hidden sizes** differ through ``net.unit_mask``: each model gets the units it asks
  for and the stack is padded to the largest (a masked unit starts at zero, adds nothing
  and gets no gradient, so a model of 16 units in a stack of 64 trains exactly as a
  16-unit network);
* **learning rate and weight decay** are ``(K,)`` arrays of the optimiser, and the
  **input noise** a ``(K,)`` array of the step rule (:mod:`bpnet.steps`);
* **rows** differ per model: each model holds its own block's rows, normalised with
  statistics of its training rows only, padded to the longest block with rows of weight 0;
* **the best epoch** is kept per model (:class:`~bpnet.callbacks.EarlyStopping` on its
  validation rows, held in the stack with weight 0 and measured every epoch;
  ``patience=None``: every epoch is trained and the best one restored);
* or, for a grid over epochs, each model is scored at **checkpoints**: trained once for
  the most epochs, its validation rows (kept out of the stack) measured after each count.

Everything else (the activations, the loss, the optimiser's kind, the epochs, the batch
size) is one value per network, so models that differ there go to different stacks.
Stacks are also cut to at most ``max_models`` models, and to what keeps one ``(K, H + C + 1,
n)`` buffer of the fused pass within :data:`STACK_BYTES` (the pass makes about a dozen trips
over such buffers per epoch, each several times cheaper from a core's own cache), ordered
so that one stack holds models of one hidden size where it can (``_plan_stacks``).

Model ``k`` of a stack equals the same network trained alone from the same initial
weights on the same rows (to 1e-10 in float64, full batch; the tests check this).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from .network import BPNetwork
from .parallel import run_jobs
from .preprocessing import Normalizer
from .settings import PARAMS, Settings, class_weights
from .training import Curves, EarlyStopping, Rows, TrainLog, evaluate, make_steps, predict_outputs, train

__all__ = ["Block", "FitResult", "ModelSpec", "SELECTION_PARAMS", "STACKED_PARAMS", "STACK_BYTES",
           "check_setting", "fit_models", "selection_settings", "stack_key"]

#: The names a setting of model selection may use, those of :class:`bpnet.settings.Settings`
SELECTION_PARAMS = PARAMS
#: settings that may differ between the models of one stack
STACKED_PARAMS = ("n_hidden", "lr", "weight_decay", "input_noise")
#: Largest ``(K, H + C + 1, n)`` buffer of a stack's fused pass, in bytes: about a core's L2
#: cache (1-2 MiB on current x86). On the 2-core Xeon (1.25 MiB L2) a model-epoch of 64 tanh
#: units on 360 rows costs 120 µs in stacks of 8-16, 180 µs in stacks of 64.
STACK_BYTES = 2**20


def selection_settings(overrides: dict, **defaults) -> dict:
    """:meth:`Settings.from_dict <bpnet.settings.Settings.from_dict>` as a dict (a model's
    setting, compared and grouped by name)."""
    return Settings.from_dict(overrides, **defaults).to_dict()


@dataclass(frozen=True)
class Block:
    """The rows one group of models sees (one inner fold of one outer fold, or an outer fold).

    Attributes
    ----------
    train : (n_train,) int array
        Rows the loss sees; the normalisation is fitted on these rows only.
    val : (n_val,) int array
        Rows the best epoch is chosen on (may be empty: then a model trains for its
        ``epochs`` and keeps the last epoch).
    predict : (n_predict,) int array
        Rows to compute outputs for after training (an outer fold's test rows). They
        take no part in training or in choosing the epoch.
    seed : tuple of int
        Seeds the initial weights: models of one block share them (for each hidden size),
        so settings are compared on the same starting point.
    """

    train: np.ndarray
    val: np.ndarray
    predict: np.ndarray
    seed: tuple


@dataclass(frozen=True)
class ModelSpec:
    """One model: a setting (see :data:`SELECTION_PARAMS`) on a block.

    Attributes
    ----------
    setting : dict
    block : int
        Index into the blocks.
    epochs : int, optional
        Overrides the setting's epochs for this model alone (a refit that trains for the
        number of epochs chosen on validation rows).
    checkpoints : tuple of int, optional
        Score the model on its validation rows (and compute its outputs) after exactly
        these epochs, from one run of ``max(checkpoints)`` epochs: a grid over epochs
        costs one run. Without checkpoints a model with validation rows keeps its best
        epoch.
    """

    setting: dict
    block: int
    epochs: int | None = None
    checkpoints: tuple | None = None


@dataclass
class FitResult:
    """What :func:`fit_models` returns: per spec (in the order given) and per point ``p``
    (its checkpoints, or one point: its best or last epoch).

    Attributes
    ----------
    best_epoch : (M, P) int array
        The epoch of each point (a checkpoint, the best validation epoch, or the last).
    val_accuracy, val_loss : (M, P) arrays
        On the model's validation rows at that epoch (NaN without validation rows).
    outputs : list of lists of (n_predict, C) arrays
        ``outputs[m][p]``: model m's outputs on its block's ``predict`` rows at point p.
    val_accuracy_curves : (M, epochs) array
        Validation accuracy after every epoch (NaN past the model's epochs).
    stacks : list of dict
        With ``keep_stacks``: per stack, ``models`` (spec indices), ``init`` (the stack
        before training), ``net`` (after), ``log`` (the TrainLog of a best-epoch stack).
    """

    best_epoch: np.ndarray
    val_accuracy: np.ndarray
    val_loss: np.ndarray
    outputs: list
    val_accuracy_curves: np.ndarray
    stacks: list = field(default_factory=list)


def check_setting(setting: dict) -> dict:
    """All of :data:`bpnet.settings.PARAMS` for one model, checked before any
    training: a ValueError names the setting and what is wrong with it."""
    cfg = selection_settings(setting)

    def bad(name, want):
        raise ValueError(f"{name}={cfg[name]!r}: {want}")

    def number(name):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            bad(name, "must be a number")
        return float(v)

    for name in ("n_hidden", "epochs"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            bad(name, "must be a positive integer")
    if not number("lr") > 0:
        bad("lr", "must be positive")
    for name in ("weight_decay", "input_noise"):
        if not number(name) >= 0:
            bad(name, "must be non-negative")
    if cfg["class_weight"] not in (None, "balanced"):
        bad("class_weight", "must be None or 'balanced' in model selection")
    if str(cfg["optimizer"]).lower() == "sgd":
        number("momentum")
    spec = Settings(**{**cfg, "optimizer": str(cfg["optimizer"])})
    try:  # the network and optimiser check activations, loss, init, dtype and the optimiser
        net = spec.build_network(2, 2, 0, n_hidden=1)
        spec.build_optimizer(net.params, lr=float(cfg["lr"]),
                             weight_decay=float(cfg["weight_decay"]))
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    bs = cfg["batch_size"]
    if bs is not None and (isinstance(bs, bool) or not isinstance(bs, (int, np.integer)) or bs < 1):
        bad("batch_size", "must be None or a positive integer")
    return cfg


def stack_key(setting: dict) -> tuple:
    """The part of a setting that must be equal within one stack."""
    return tuple((k, repr(setting[k])) for k in sorted(setting) if k not in STACKED_PARAMS)


class _BlockData:
    """Normalised rows of each block, computed once and shared by its models."""

    def __init__(self, X: np.ndarray, blocks: list[Block], normalize):
        self.X, self.blocks, self.normalize = X, blocks, normalize
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def get(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """``(X of train + val rows, X of predict rows)``, normalised on the train rows."""
        if b not in self._cache:
            blk, X = self.blocks[b], self.X
            rows = np.concatenate([blk.train, blk.val])
            if self.normalize is False or self.normalize is None:
                self._cache[b] = (X[rows], X[blk.predict])
            else:
                kw = self.normalize if isinstance(self.normalize, dict) else {}
                norm = Normalizer(**kw).fit(X[blk.train])
                self._cache[b] = (norm.transform(X[rows]), norm.transform(X[blk.predict]))
        return self._cache[b]


def _build_stack(specs: list[ModelSpec], blocks: list[Block], n_inputs: int, n_classes: int,
                 cfg: dict) -> BPNetwork:
    """A stack whose model k starts as ``BPNetwork(n_inputs, h_k, C, seed=block seed)``."""
    hs = [int(s.setting["n_hidden"]) for s in specs]
    H, K = max(hs), len(specs)
    settings = Settings(**cfg)
    net = settings.build_network(n_inputs, n_classes, 0, n_models=K, n_hidden=H)
    for p in net.params.values():
        p[...] = 0.0  # padded units stay exactly zero: no gradient, no weight decay pull
    for k, (spec, h) in enumerate(zip(specs, hs)):
        one = settings.build_network(n_inputs, n_classes,
                                     np.random.default_rng(blocks[spec.block].seed), n_hidden=h)
        net.params["W1"][k, :, :h] = one.params["W1"]
        net.params["b1"][k, :h] = one.params["b1"]
        net.params["W2"][k, :h, :] = one.params["W2"]
        net.params["b2"][k] = one.params["b2"]
    if min(hs) < H:
        net.unit_mask = (np.arange(H)[None, :] < np.array(hs)[:, None]).astype(net.dtype)
    return net


def _pad(rows: list[np.ndarray], labels: list[np.ndarray], dtype) -> tuple:
    """Per-model rows ``(m_k, d)`` -> ``(K, max m, d)``, labels ``(K, max m)`` and a 0/1
    mask of the real rows (padding repeats a model's first row, with weight 0)."""
    K, n, d = len(rows), max(len(r) for r in rows), rows[0].shape[1]
    X, y, mask = np.empty((K, n, d), dtype), np.empty((K, n), np.int64), np.zeros((K, n))
    for k, (r, lab) in enumerate(zip(rows, labels)):
        X[k, :len(r)], y[k, :len(r)], mask[k, :len(r)] = r, lab, 1.0
        X[k, len(r):], y[k, len(r):] = r[0], lab[0]
    return X, y, mask


class _Stack:
    """One stack: each model's training rows (and, with ``val_in_stack``, its validation
    rows after them, so that every epoch measures them), its network, optimiser, noise."""

    def __init__(self, specs, blocks, data: _BlockData, y, n_classes, cfg, val_in_stack: bool):
        d, dt = data.X.shape[1], np.dtype(cfg["dtype"])
        blks = [blocks[s.block] for s in specs]
        n_fit = [len(b.train) for b in blks]
        keep = [len(b.train) + (len(b.val) if val_in_stack else 0) for b in blks]
        self.X, self.y, mask = _pad([data.get(s.block)[0][:m] for s, m in zip(specs, keep)],
                                    [y[np.r_[b.train, b.val]][:m] for b, m in zip(blks, keep)], dt)
        self.sw, self.val = np.zeros_like(mask), mask.copy()
        for k, (b, m) in enumerate(zip(blks, n_fit)):
            cw = class_weights(y[b.train], n_classes, specs[k].setting["class_weight"])
            cw = 1.0 if cw is None else cw[y[b.train]]
            self.sw[k, :m] = cw
            self.val[k, :m] = 0.0
        self.held_out = None  # validation rows kept out of the stack, scored at checkpoints
        if not val_in_stack and all(len(b.val) for b in blks):
            self.held_out = _pad([data.get(s.block)[0][m:] for s, m in zip(specs, n_fit)],
                                 [y[b.val] for b in blks], dt)
        self.net = _build_stack(specs, blocks, d, n_classes, cfg)
        # one update of all parameters per step: a step of small networks is mostly call cost
        self.opt = Settings(**cfg).build_optimizer(
            self.net.params, flat=True, lr=np.array([float(s.setting["lr"]) for s in specs]),
            weight_decay=np.array([float(s.setting["weight_decay"]) for s in specs]))
        self.noise = np.array([float(s.setting["input_noise"]) for s in specs])
        self.batch_size = cfg["batch_size"]
        self.specs, self.blocks, self.data = specs, blocks, data

    def train(self, epochs: int, rng, callbacks=(), monitor=None, active=None) -> TrainLog:
        return train(self.net, Rows(self.X, self.y, self.sw, monitor), self.opt, epochs,
                     callbacks, steps=make_steps(self.batch_size, self.noise), rng=rng,
                     active=active)

    def outputs(self) -> list:
        """Each model's outputs on its block's predict rows, now."""
        K, d = len(self.specs), self.X.shape[2]
        rows = [self.data.get(s.block)[1] for s in self.specs]
        if max(len(r) for r in rows) == 0:
            return [np.zeros((0, self.net.n_outputs)) for _ in rows]
        Xp = np.zeros((K, max(len(r) for r in rows), d), self.X.dtype)
        for k, r in enumerate(rows):
            Xp[k, :len(r)] = r
        out = predict_outputs(self.net, Xp)
        return [out[k, :len(r)].copy() for k, r in enumerate(rows)]


def _fit_stack(specs, idx, blocks, data: _BlockData, y, n_classes, cfg, res: FitResult,
               epoch_metric: str, rng, keep: bool) -> None:
    checkpoints, log = specs[0].checkpoints, None
    has_val = np.array([len(blocks[s.block].val) > 0 for s in specs])
    if has_val.any() and not has_val.all():
        raise ValueError("the models of one stack all have validation rows, or none has")
    # the best epoch needs the validation rows measured every epoch; checkpoints do not
    st = _Stack(specs, blocks, data, y, n_classes, cfg, val_in_stack=checkpoints is None)
    K, cols, init = len(specs), np.arange(len(specs)), st.net.copy() if keep else None
    if has_val.all() and checkpoints is None:  # each model keeps its best epoch
        stop = EarlyStopping("val", metric=epoch_metric, patience=None, tol=0.0)
        log = st.train(int(cfg["epochs"]), rng, [Curves(), stop], monitor={"val": st.val})
        best = np.asarray(log.best_epoch)
        res.best_epoch[idx, 0] = best
        res.val_accuracy[idx, 0] = log.curves["val_accuracy"][np.maximum(best - 1, 0), cols]
        res.val_loss[idx, 0] = log.curves["val_loss"][np.maximum(best - 1, 0), cols]
        res.val_accuracy_curves[idx, :log.epochs_run] = log.curves["val_accuracy"].T
        for k, out in enumerate(st.outputs()):
            res.outputs[idx[k]] = [out]
    elif has_val.all():  # scored after exactly each checkpoint's epochs, from one run
        done, outs = 0, [[] for _ in range(K)]
        for p, target in enumerate(checkpoints):
            st.train(target - done, rng)  # no curves: scored here, not every epoch
            loss, acc = evaluate(st.net, *st.held_out)
            res.val_accuracy_curves[idx, target - 1] = acc
            res.best_epoch[idx, p] = target
            res.val_accuracy[idx, p], res.val_loss[idx, p] = acc, loss
            for k, out in enumerate(st.outputs()):
                outs[k].append(out)
            done = target
        for k in range(K):
            res.outputs[idx[k]] = outs[k]
    else:  # model k trains for its own epochs: one call per distinct count, the models
        # that are done left inactive (their parameters and optimiser state untouched)
        epochs = np.array([s.epochs if s.epochs is not None else int(cfg["epochs"])
                           for s in specs])
        done = 0
        for target in np.unique(epochs):
            st.train(int(target - done), rng, active=epochs > done)
            done = int(target)
        res.best_epoch[idx, 0] = epochs
        for k, out in enumerate(st.outputs()):
            res.outputs[idx[k]] = [out]
    if keep:
        res.stacks.append({"models": idx.copy(), "init": init, "net": st.net,
                           "log": log if log is not None else TrainLog()})


def _plan_stacks(models, key, hidden: list, block: list, max_models: int,
                 cap: Callable[[int], int] | None = None) -> list:
    """Cut the models into stacks: one group per ``key``, ordered by hidden size and block,
    at most ``max_models`` each, and at most ``cap(h)`` when the stack's largest hidden size
    is ``h``. A stack pads its models to its largest hidden size, so a new size starts a new
    stack, unless the current one holds fewer than half of its limit (then a few small
    groups share a stack through unit masks)."""
    order = sorted(models, key=lambda m: (repr(key(m)), hidden[m], block[m], m))
    stacks, current = [], []
    for m in order:  # sorted: m has the current stack's largest hidden size
        limit = min(max_models, max(1, cap(hidden[m]))) if cap else max_models
        if current and (len(current) >= limit or key(m) != key(current[-1])
                        or (hidden[m] != hidden[current[-1]] and len(current) >= limit // 2)):
            stacks.append(np.array(current))
            current = []
        current.append(m)
    return stacks + [np.array(current)] if current else stacks


def fit_models(X, y, specs: list[ModelSpec], blocks: list[Block], *, n_classes: int,
               normalize: bool | dict = True, epoch_metric: str = "loss",
               max_models: int = 64, stack_bytes: int | None = STACK_BYTES, random_state=0,
               keep_stacks: bool = False, on_stack=None, n_jobs: int = 1) -> FitResult:
    """Train every model of ``specs`` as few, cache-sized stacks.

    Parameters
    ----------
    X : (n, d) raw features; y : (n,) int labels ``0..C-1``
    specs : list of ModelSpec
        Each ``setting`` holds every name of :data:`bpnet.settings.PARAMS`
        (``class_weight`` may be None or ``"balanced"``: each model's training rows are
        weighted by its own training labels).
    blocks : list of Block
    normalize : bool or dict
        A :class:`~bpnet.preprocessing.Normalizer` per block, fitted on its training rows.
    epoch_metric : {"loss", "accuracy"}
        What the best epoch minimises (validation loss) or maximises (accuracy); the first
        best epoch wins.
    max_models : int
        Largest stack.
    stack_bytes : int, optional
        A stack of ``K`` models of ``H`` units on ``n`` rows holds at most ``K (H + C + 1) n``
        values of this many bytes (None: only ``max_models`` limits it).
    random_state : int
        Seeds the mini-batch order and the input noise, one independent stream per stack
        (the initial weights come from the blocks' seeds).
    keep_stacks : bool
        Keep every stack before and after training in the result (for inspection and tests).
    on_stack : callable, optional
        Called with the number of models after each stack is trained (a progress bar).
    n_jobs : int
        1: train the stacks here, one after the other. Otherwise hand them to ``n_jobs``
        joblib workers of one BLAS thread each (-1: every core, or every worker of the
        active ``joblib.parallel_config`` backend, such as a dask cluster); see
        :mod:`bpnet.parallel`. The result is bit-identical whatever ``n_jobs``.

    Returns
    -------
    FitResult
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    M = len(specs)
    checked: dict = {}  # one check per distinct setting, not one per model
    cfgs = []
    for spec in specs:
        key = repr(sorted(spec.setting.items()))
        if key not in checked:
            checked[key] = check_setting(spec.setting)
        cfgs.append(checked[key])
    for spec in specs:
        cp = spec.checkpoints
        if cp is not None and (not cp or list(cp) != sorted(set(cp)) or int(cp[0]) < 1):
            raise ValueError(f"checkpoints must be increasing positive epochs, got {cp}")

    def epochs_of(m):
        spec = specs[m]
        return (spec.checkpoints[-1] if spec.checkpoints else
                spec.epochs if spec.epochs is not None else int(cfgs[m]["epochs"]))

    P = max(len(s.checkpoints) if s.checkpoints else 1 for s in specs)
    width = max(map(epochs_of, range(M)))
    res = _empty_result(M, P, width)
    data = _BlockData(X, blocks, normalize)

    def key(m):  # what one stack must share; a model without validation rows trains for its
        # own spec.epochs in a stack of any epochs (refits of different settings: one stack)
        own = specs[m].epochs is not None and not len(blocks[specs[m].block].val)
        return stack_key({**cfgs[m], "epochs": None} if own else cfgs[m]), specs[m].checkpoints

    # bytes per hidden unit (or class) of one model: its rows in the stack, in its dtype
    unit_bytes = max((len(blocks[s.block].train) + (0 if s.checkpoints else len(blocks[s.block].val)))
                     * np.dtype(c["dtype"]).itemsize for s, c in zip(specs, cfgs))

    def cap(h):  # the most models of h hidden units whose buffer fits stack_bytes
        return stack_bytes // ((h + n_classes + 1) * unit_bytes)

    plan = _plan_stacks(range(M), key, [int(c["n_hidden"]) for c in cfgs],
                        [s.block for s in specs], max_models,
                        cap=None if stack_bytes is None else cap)
    # one seed per stack: a stack's mini-batch order and input noise do not depend on which
    # stacks ran before it, or where, so any n_jobs gives the same bits
    seeds = np.random.SeedSequence(_entropy(random_state)).spawn(len(plan))

    def job(idx, seed) -> tuple:
        own = [ModelSpec(cfgs[m], specs[m].block, specs[m].epochs, specs[m].checkpoints)
               for m in idx]
        stack_blocks, stack_data = blocks, data  # here: stacks share the normalised rows
        if n_jobs != 1:  # a worker gets its stack's blocks alone (renumbered) and normalises
            # them itself: what travels is kilobytes per stack, not every block of the search
            used = sorted({spec.block for spec in own})
            own = [replace(spec, block=used.index(spec.block)) for spec in own]
            stack_blocks = [blocks[b] for b in used]
            stack_data = _BlockData(X, stack_blocks, normalize)
        return (own, stack_blocks, stack_data, y, n_classes, cfgs[idx[0]], P, width,
                epoch_metric, seed, keep_stacks)

    jobs = [job(idx, seed) for idx, seed in zip(plan, seeds)]
    done = None if on_stack is None else (lambda part: on_stack(len(part.outputs)))
    for idx, part in zip(plan, run_jobs(_stack_job, jobs, n_jobs, on_done=done)):
        res.best_epoch[idx], res.val_accuracy[idx] = part.best_epoch, part.val_accuracy
        res.val_loss[idx], res.val_accuracy_curves[idx] = part.val_loss, part.val_accuracy_curves
        for k, m in enumerate(idx):
            res.outputs[m] = part.outputs[k]
        for st in part.stacks:
            res.stacks.append({**st, "models": idx.copy()})
    return res


def _entropy(random_state) -> int:
    """An int seed from ``random_state`` (an int, or a Generator: one draw from it)."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    return int(random_state)


def _empty_result(M: int, P: int, width: int) -> FitResult:
    return FitResult(best_epoch=np.zeros((M, P), np.int64), val_accuracy=np.full((M, P), np.nan),
                     val_loss=np.full((M, P), np.nan), outputs=[None] * M,
                     val_accuracy_curves=np.full((M, width), np.nan))


def _stack_job(specs, blocks, data, y, n_classes, cfg, P, width, epoch_metric, seed,
               keep) -> FitResult:
    """Train one stack (a job of :func:`bpnet.parallel.run_jobs`): its models' results, in
    the order of ``specs``."""
    part = _empty_result(len(specs), P, width)
    _fit_stack(specs, np.arange(len(specs)), blocks, data, y, n_classes, cfg, part,
               epoch_metric, np.random.default_rng(seed), keep)
    return part
