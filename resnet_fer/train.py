"""Cross-validated training of the ResNet: the recipe (:class:`TrainConfig`) and the loop.

:func:`cross_validate` takes the splits from the caller (e.g. :mod:`bpnet.splits`), so the
BP network and the ResNet can be compared on exactly the same folds::

    from bpnet.splits import stratified_kfold
    from resnet_fer.data import synthetic_images
    from resnet_fer.train import TrainConfig, cross_validate

    data = synthetic_images(size=64)
    splits = stratified_kfold(data.y, n_splits=5, seed=0)
    result = cross_validate(data.images, data.y, splits, TrainConfig(size=64, stem="small"),
                            device="cuda")
    print(result.report())

Each fold checkpoints after every epoch (when ``out_dir`` is given); ``resume=True`` picks up
finished folds and continues an interrupted one exactly where it stopped. Under ``torchrun``
the same call trains with DistributedDataParallel (``torchrun ... -m resnet_fer train`` runs
the command line, :mod:`resnet_fer.cli`).
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bpnet.data.sfew import CLASS_NAMES
from bpnet.results import CURVES, CVResult, FoldResult
from bpnet.settings import class_weights

from . import distributed
from .checkpoint import (
    CORRUPT_HINT,
    load_checkpoint,
    remove_stale_temporaries,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .cnn import build_network
from .config import RESUMABLE_CHANGES, TrainConfig
from .data import ImageStore
from .engine import Engine, WeightEMA, build_optimizer, make_scheduler

__all__ = ["EPOCH_CURVES", "EpochInfo", "NonFiniteLossError", "TrainConfig",
           "balanced_class_weight", "build_model", "cross_validate", "derived_seed",
           "initial_state"]

#: What every fold records per epoch, :data:`bpnet.results.CURVES` (train figures are running
#: means over the epoch's augmented batches, test figures a clean pass over the test fold)
#: and the learning rate at the epoch's start.
EPOCH_CURVES = (*CURVES, "lr")


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class EpochInfo:
    """What a ``callback`` of :func:`cross_validate` sees after every epoch."""

    fold: int
    epoch: int  # epochs completed in this fold, 1-based
    epochs: int
    curves: dict[str, list[float]]
    model: nn.Module


def build_model(config: TrainConfig, n_classes: int = 7) -> nn.Module:
    """The model that ``config`` describes (random initial weights from torch's RNG): the
    ResNet by default, another family when ``config.arch`` names one."""
    return build_network(config, n_classes)


def derived_seed(*parts: int) -> int:
    """A 32-bit seed drawn from ``parts`` (the run's seed, the fold, ...) by NumPy's
    ``SeedSequence``: distinct parts give unrelated streams."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def initial_state(config: TrainConfig, fold: int, n_classes: int) -> dict[str, torch.Tensor]:
    """Initial weights of ``fold``, drawn without disturbing the caller's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(config.seed, fold, 0))
        return build_model(config, n_classes).state_dict()


def _check_resume(state: dict, config: TrainConfig, test_idx: np.ndarray, path: Path) -> None:
    # A setting the checkpoint predates had its default value when it was written.
    old, new = {**TrainConfig().to_dict(), **state["config"]}, config.to_dict()
    diff = [f"{k}: {old.get(k)!r} -> {new[k]!r}" for k in new
            if k not in RESUMABLE_CHANGES and old.get(k) != new[k]]
    if diff:
        raise ValueError(f"cannot resume from {path}: it was written with other settings "
                         f"({'; '.join(diff)}); use the same settings or a new output folder")
    if not np.array_equal(np.asarray(state["test_idx"]), test_idx):
        raise ValueError(f"cannot resume from {path}: its fold holds other test samples "
                         "(a different split)")


def _progress(total: int, start: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc=desc, unit="epoch", leave=True, dynamic_ncols=True)


@dataclass
class _Fold:
    """One fold in training: its data, optimiser, schedule, curves and checkpoint path."""

    k: int
    train_idx: np.ndarray
    test_idx: np.ndarray
    optimizer: torch.optim.Optimizer
    scheduler: Any
    class_weight: torch.Tensor | None
    curves: dict[str, list[float]]
    start_epoch: int  # epochs already done (> 0 when resumed)
    seconds: float  # training time before this process took over
    path: Path | None
    ema: WeightEMA | None = None

    def evaluated(self, engine: Engine):
        """Context in which the model holds the weights to evaluate (the average, with EMA)."""
        return self.ema.applied(engine.model) if self.ema is not None else contextlib.nullcontext()

    def state(self, engine: Engine, epoch: int, seconds: float,
              result: FoldResult | None = None) -> dict[str, Any]:
        """The checkpoint after ``epoch`` epochs (and, once finished, the fold's result)."""
        return {"config": engine.config.to_dict(), "fold": self.k, "epoch": epoch,
                "test_idx": torch.as_tensor(np.asarray(self.test_idx, np.int64)),
                "model": engine.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "rng": rng_state(engine.device),
                "curves": self.curves, "seconds": seconds, "done": result is not None,
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "result": result.to_dict() if result is not None else None}


def balanced_class_weight(y_train: np.ndarray, n_classes: int, device: torch.device) -> torch.Tensor:
    """``"balanced"`` weights of the training fold's labels (:func:`bpnet.settings.class_weights`:
    the formula of the BP network, weight 1 for a class the fold lacks)."""
    w = class_weights(y_train, n_classes, "balanced")
    return torch.tensor(w, dtype=torch.float32, device=device)


def _set_up_fold(engine: Engine, k: int, train_idx: np.ndarray, test_idx: np.ndarray,
                 y: np.ndarray, ckpt_dir: Path | None, resume: bool) -> _Fold | FoldResult:
    """Fresh initial weights and optimiser for fold ``k``, or its checkpoint when resuming.

    Returns the finished :class:`FoldResult` when the checkpoint says the fold is done.
    Call inside the fold's RNG context: a resumed fold restores the RNG state there.
    """
    cfg = engine.config
    path = ckpt_dir / f"fold{k}.pt" if ckpt_dir is not None else None
    state = None
    if resume and path is not None and path.is_file():
        state = load_checkpoint(path)
        with _corrupt_names(path):
            _check_resume(state, cfg, test_idx, path)
        with _corrupt_names(path, ValueError):  # from_dict's checks of the stored result
            if state["done"]:
                return FoldResult.from_dict(state["result"])
    engine.model.load_state_dict(initial_state(cfg, k, engine.n_classes))
    optimizer = build_optimizer(engine.model, cfg, engine.device)
    steps = len(train_idx) // engine.batch_size(len(train_idx))
    scheduler = make_scheduler(optimizer, cfg, cfg.epochs * steps)
    weight = (balanced_class_weight(y[train_idx], engine.n_classes, engine.device)
              if cfg.class_weights else None)
    ema = WeightEMA(engine.model, cfg.ema) if cfg.ema > 0 else None
    fold = _Fold(k, train_idx, test_idx, optimizer, scheduler, weight,
                 {c: [] for c in EPOCH_CURVES}, 0, 0.0, path, ema)
    if state is not None:
        with _corrupt_names(path):
            engine.model.load_state_dict(state["model"])
            if ema is not None:
                ema.load_state_dict(state["ema"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            set_rng_state(state["rng"], engine.device)
            fold.curves, fold.start_epoch = state["curves"], int(state["epoch"])
            fold.seconds = float(state["seconds"])
    return fold


@contextlib.contextmanager
def _corrupt_names(path: Path, *more: type[Exception]):
    """A checkpoint that loads but lacks or garbles an entry: one error naming the file."""
    try:
        yield
    except (KeyError, TypeError, AttributeError, IndexError, RuntimeError, *more) as exc:
        why = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise ValueError(f"checkpoint {path} is corrupt ({why}); {CORRUPT_HINT}") from None


def _run_epoch(engine: Engine, fold: _Fold, epoch: int, y_test: torch.Tensor,
               elapsed: Callable[[], float]) -> torch.Tensor:
    """Train one epoch, score the test fold, record the curves, checkpoint; returns test logits."""
    cfg, optimizer = engine.config, fold.optimizer
    lr = optimizer.param_groups[0]["lr"]
    train_loss, train_acc = engine.train_epoch(optimizer, fold.scheduler, fold.train_idx,
                                               (cfg.seed, fold.k, epoch), fold.class_weight,
                                               fold.ema)
    if not math.isfinite(train_loss):
        where = (f"the last good checkpoint {fold.path} (after epoch {epoch}) is kept"
                 if fold.path is not None and epoch > 0 else "no checkpoint was written")
        raise NonFiniteLossError(
            f"fold {fold.k + 1}, epoch {epoch + 1}: the training loss became {train_loss}; "
            f"training stopped and {where}. Lower the learning rate (--lr) or check the "
            "data, then run again (with --resume to continue from the checkpoint).")
    distributed.sync_buffers(engine.model)
    with fold.evaluated(engine):
        logits = engine.predict(fold.test_idx)
    test_loss = F.cross_entropy(logits, y_test).item()
    test_acc = (logits.argmax(1) == y_test).float().mean().item()
    for name, value in zip(EPOCH_CURVES, (train_loss, train_acc, test_loss, test_acc, lr)):
        fold.curves[name].append(float(value))
    if fold.path is not None and engine.dist.is_main:
        save_checkpoint(fold.state(engine, epoch + 1, elapsed()), fold.path)
    distributed.barrier()
    return logits


def _finish_fold(engine: Engine, fold: _Fold, logits: torch.Tensor | None, y: np.ndarray,
                 seconds: float) -> FoldResult:
    """Score the trained model (clean train accuracy too) and mark the checkpoint done."""
    with fold.evaluated(engine):
        if logits is None:  # resumed after the last epoch, before the fold was marked done
            logits = engine.predict(fold.test_idx)
        train_pred = engine.predict(fold.train_idx).argmax(1).numpy()  # eval mode, unaugmented
    y_pred = logits.argmax(1).numpy()
    y_test = y[fold.test_idx]
    result = FoldResult(
        test_idx=np.asarray(fold.test_idx, np.int64), y_true=y_test, y_pred=y_pred,
        scores=torch.softmax(logits, 1).numpy(), n_train=len(fold.train_idx),
        train_accuracy=float(np.mean(train_pred == y[fold.train_idx])), curves=fold.curves,
        seconds=seconds)
    if fold.path is not None and engine.dist.is_main:
        save_checkpoint(fold.state(engine, engine.config.epochs, seconds, result), fold.path)
    distributed.barrier()
    return result


def _run_fold(engine: Engine, k: int, n_folds: int, train_idx: np.ndarray, test_idx: np.ndarray,
              y: np.ndarray, ckpt_dir: Path | None, resume: bool,
              callback: Callable[[EpochInfo], None] | None, progress: bool) -> FoldResult:
    cfg, device = engine.config, engine.device
    cuda_devices = []
    if device.type == "cuda":
        cuda_devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=cuda_devices):  # dropout's draws; caller's RNG untouched
        torch.manual_seed(derived_seed(cfg.seed, k, 1, engine.dist.rank))
        fold = _set_up_fold(engine, k, train_idx, test_idx, y, ckpt_dir, resume)
        if isinstance(fold, FoldResult):
            return fold
        t0 = time.perf_counter()

        def elapsed() -> float:
            return fold.seconds + time.perf_counter() - t0

        y_test = torch.from_numpy(y[test_idx])
        bar = _progress(cfg.epochs, fold.start_epoch, f"fold {k + 1}/{n_folds}",
                        progress and engine.dist.is_main)
        logits = None
        for epoch in range(fold.start_epoch, cfg.epochs):
            logits = _run_epoch(engine, fold, epoch, y_test, elapsed)
            if bar is not None:
                h = fold.curves
                bar.set_postfix(loss=f"{h['train_loss'][-1]:.3f}",
                                train=f"{h['train_accuracy'][-1]:.0%}",
                                test=f"{h['test_accuracy'][-1]:.0%}")
                bar.update(1)
            if callback is not None:
                callback(EpochInfo(k, epoch + 1, cfg.epochs, fold.curves, engine.model))
        if bar is not None:
            bar.close()
        return _finish_fold(engine, fold, logits, y, elapsed())


def cross_validate(images, y, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                   config: TrainConfig | None = None, device: str | torch.device = "cpu", *,
                   progress: bool = True, out_dir: str | Path | None = None, resume: bool = False,
                   callback: Callable[[EpochInfo], None] | None = None,
                   class_names: Sequence[str] = CLASS_NAMES,
                   sample_ids: Sequence[str] | None = None) -> CVResult:
    """Train and evaluate one model per split.

    Parameters
    ----------
    images : Tensor or ndarray, uint8, shape (n, H, W, 3) or (n, H, W)
        The whole set; it is put on ``device`` once (or streamed from pinned memory when it
        exceeds ``config.memory_budget``).
    y : array-like of int, shape (n,)
    splits : sequence of (train_idx, test_idx)
        E.g. from :func:`bpnet.splits.stratified_kfold` or :func:`bpnet.splits.group_kfold`.
    config : TrainConfig, optional
        The recipe; default ``TrainConfig()``.
    device : str or torch.device
        ``"cuda"``, ``"cuda:1"``, ``"cpu"``. Under a ``torch.distributed`` process group each
        rank passes its own device and the batches are sharded across the ranks.
    progress : bool
        A tqdm bar per fold (rank 0 only).
    out_dir : str or Path, optional
        Checkpoints go to ``out_dir/checkpoints/fold<k>.pt`` after every epoch (temporary
        files that a killed run left there are removed first).
    resume : bool
        Reuse finished folds' checkpoints and continue an unfinished one.
    callback : callable, optional
        Called with an :class:`EpochInfo` after every epoch (and checkpoint).
    class_names : sequence of str
    sample_ids : sequence of str, optional
        One id per image, recorded in the result (predictions keyed by sample).

    Returns
    -------
    bpnet.results.CVResult
        Per-fold predictions, softmax outputs (``scores``) and :data:`EPOCH_CURVES`; the recipe in
        ``settings``; training time, device and versions in ``meta``.

    Raises
    ------
    NonFiniteLossError
        When the training loss stops being finite (the last good checkpoint stays).
    resnet_fer.checkpoint.CheckpointWriteError
        When a checkpoint cannot be written (a full disk); the previous one stays.
    """
    config = TrainConfig() if config is None else config
    device = torch.device(device)
    y = np.asarray(y, dtype=np.int64)
    n_classes = len(class_names)
    store = ImageStore(images, y, device, config.memory_budget)
    with torch.random.fork_rng(devices=[]):  # weights are replaced per fold; spare the caller's RNG
        model = build_model(config, n_classes).to(device)
    engine = Engine(model, store, config, n_classes)
    ckpt_dir = Path(out_dir) / "checkpoints" if out_dir is not None else None
    if ckpt_dir is not None and engine.dist.is_main:
        remove_stale_temporaries(ckpt_dir)
    folds = [_run_fold(engine, k, len(splits), np.asarray(tr), np.asarray(te), y, ckpt_dir, resume,
                       callback, progress) for k, (tr, te) in enumerate(splits)]
    meta = {"seconds": float(sum(f.seconds or 0.0 for f in folds)), "device": str(device),
            "world_size": engine.dist.world_size, "torch": torch.__version__}
    return CVResult("ResNet", folds, tuple(class_names), len(y),
                    None if sample_ids is None else list(sample_ids), config.to_dict(), meta)
