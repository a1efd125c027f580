"""Cross-validated training of the ResNet: the recipe (:class:`TrainConfig`) and the loop.

:func:`cross_validate` takes the splits from the caller (e.g. :mod:`bpnet.crossval`), so the
BP network and the ResNet can be compared on exactly the same folds::

    from bpnet.crossval import stratified_kfold
    from resnet_fer.data import synthetic_images
    from resnet_fer.train import TrainConfig, cross_validate

    data = synthetic_images(size=64)
    splits = stratified_kfold(data.y, n_splits=5, seed=0)
    result = cross_validate(data.images, data.y, splits, TrainConfig(size=64, stem="small"),
                            device="cuda")
    print(result.report())

Each fold checkpoints after every epoch (when ``out_dir`` is given); ``resume=True`` picks up
finished folds and continues an interrupted one exactly where it stopped. Under ``torchrun``
the same call trains with DistributedDataParallel (``python -m resnet_fer.train`` is the
command line of :mod:`resnet_fer.cli`'s ``train``).
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bpnet.datasets import CLASS_NAMES
from bpnet.metrics import confusion_matrix

from . import distributed
from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import RESUMABLE_CHANGES, TrainConfig
from .data import ImageStore
from .engine import Engine, build_augment_fn, make_optimizer, make_scheduler, maybe_compile
from .model import ResNet, resnet18
from .results import CURVES, CVResult, FoldResult

__all__ = ["EpochInfo", "NonFiniteLossError", "TrainConfig", "build_model", "cross_validate", "main"]


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class EpochInfo:
    """What a ``callback`` of :func:`cross_validate` sees after every epoch."""

    fold: int
    epoch: int  # epochs completed in this fold, 1-based
    epochs: int
    history: dict[str, list[float]]
    model: nn.Module


def build_model(config: TrainConfig, n_classes: int = 7) -> ResNet:
    """The ResNet that ``config`` describes (random initial weights from torch's RNG)."""
    return resnet18(num_classes=n_classes, width=config.width, stem=config.stem,
                    dropout=config.dropout, zero_init_residual=config.zero_init_residual)


def _fold_seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def _initial_state(config: TrainConfig, fold: int, n_classes: int) -> dict[str, torch.Tensor]:
    """Initial weights of ``fold``, drawn without disturbing the caller's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_fold_seed(config.seed, fold, 0))
        return build_model(config, n_classes).state_dict()


def _check_resume(state: dict, config: TrainConfig, test_idx: np.ndarray, path: Path) -> None:
    old, new = state["config"], config.to_dict()
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


def _run_fold(engine: Engine, k: int, n_folds: int, train_idx: np.ndarray, test_idx: np.ndarray,
              y: np.ndarray, ckpt_dir: Path | None, resume: bool,
              callback: Callable[[EpochInfo], None] | None, progress: bool) -> FoldResult:
    cfg, model, device, info = engine.config, engine.model, engine.device, engine.dist
    path = ckpt_dir / f"fold{k}.pt" if ckpt_dir is not None else None
    state = None
    if resume and path is not None and path.is_file():
        state = load_checkpoint(path)
        _check_resume(state, cfg, test_idx, path)
        if state["done"]:
            return FoldResult.from_state(state["result"])
    model.load_state_dict(_initial_state(cfg, k, engine.n_classes))
    optimizer = make_optimizer(model, cfg, device)
    steps = len(train_idx) // engine.batch_size(len(train_idx))
    scheduler = make_scheduler(optimizer, cfg, cfg.epochs * steps)
    class_weight = None
    if cfg.class_weights:
        counts = np.bincount(y[train_idx], minlength=engine.n_classes)
        w = np.divide(len(train_idx), engine.n_classes * counts, out=np.zeros(len(counts)),
                      where=counts > 0)
        class_weight = torch.tensor(w, dtype=torch.float32, device=device)
    history: dict[str, list[float]] = {c: [] for c in CURVES}
    start, seconds = 0, 0.0
    y_test = torch.from_numpy(y[test_idx])
    cuda_devices = []
    if device.type == "cuda":
        cuda_devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=cuda_devices):  # dropout's draws; caller's RNG untouched
        torch.manual_seed(_fold_seed(cfg.seed, k, 1, info.rank))
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            set_rng_state(state["rng"], device)
            history, start, seconds = state["history"], int(state["epoch"]), float(state["seconds"])
        bar = _progress(cfg.epochs, start, f"fold {k + 1}/{n_folds}", progress and info.is_main)
        logits = None
        t0 = time.perf_counter()
        for epoch in range(start, cfg.epochs):
            lr = optimizer.param_groups[0]["lr"]
            train_loss, train_acc = engine.train_epoch(optimizer, scheduler, train_idx,
                                                       (cfg.seed, k, epoch), class_weight)
            if not math.isfinite(train_loss):
                where = (f"the last good checkpoint {path} (after epoch {epoch}) is kept"
                         if path is not None and epoch > 0 else "no checkpoint was written")
                raise NonFiniteLossError(
                    f"fold {k + 1}, epoch {epoch + 1}: the training loss became {train_loss}; "
                    f"training stopped and {where}. Lower the learning rate (--lr) or check the "
                    "data, then run again (with --resume to continue from the checkpoint).")
            distributed.sync_buffers(model)
            logits = engine.predict(test_idx)
            test_loss = F.cross_entropy(logits, y_test).item()
            test_acc = (logits.argmax(1) == y_test).float().mean().item()
            for name, value in zip(CURVES, (train_loss, train_acc, test_loss, test_acc, lr)):
                history[name].append(float(value))
            elapsed = seconds + time.perf_counter() - t0
            if path is not None and info.is_main:
                save_checkpoint(_state(engine, k, epoch + 1, test_idx, optimizer, scheduler,
                                       history, elapsed), path)
            distributed.barrier()
            if bar is not None:
                bar.set_postfix(loss=f"{train_loss:.3f}", train=f"{train_acc:.0%}",
                                test=f"{test_acc:.0%}")
                bar.update(1)
            if callback is not None:
                callback(EpochInfo(k, epoch + 1, cfg.epochs, history, model))
        if bar is not None:
            bar.close()
    if logits is None:  # resumed after the last epoch, before the fold was marked done
        logits = engine.predict(test_idx)
    train_pred = engine.predict(train_idx).argmax(1).numpy()  # clean, eval-mode train accuracy
    y_pred = logits.argmax(1).numpy()
    result = FoldResult(
        test_idx=np.asarray(test_idx, np.int64), y_true=y[test_idx], y_pred=y_pred,
        probs=torch.softmax(logits, 1).numpy(),
        confusion=confusion_matrix(y[test_idx], y_pred, engine.n_classes), history=history,
        train_accuracy=float(np.mean(train_pred == y[train_idx])),
        seconds=seconds + time.perf_counter() - t0)
    if path is not None and info.is_main:
        save_checkpoint(_state(engine, k, cfg.epochs, test_idx, optimizer, scheduler, history,
                               result.seconds, result), path)
    distributed.barrier()
    return result


def _state(engine: Engine, k: int, epoch: int, test_idx: np.ndarray, optimizer, scheduler,
           history: dict, seconds: float, result: FoldResult | None = None) -> dict[str, Any]:
    return {"config": engine.config.to_dict(), "fold": k, "epoch": epoch,
            "test_idx": torch.as_tensor(np.asarray(test_idx, np.int64)),
            "model": engine.model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "rng": rng_state(engine.device),
            "history": history, "seconds": seconds, "done": result is not None,
            "result": result.to_state() if result is not None else None}


def cross_validate(images, y, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                   config: TrainConfig = TrainConfig(), device: str | torch.device = "cpu", *,
                   progress: bool = True, out_dir: str | Path | None = None, resume: bool = False,
                   callback: Callable[[EpochInfo], None] | None = None,
                   class_names: Sequence[str] = CLASS_NAMES) -> CVResult:
    """Train and evaluate one model per split.

    Parameters
    ----------
    images : Tensor or ndarray, uint8, shape (n, H, W, 3) or (n, H, W)
        The whole set; it is put on ``device`` once (or streamed from pinned memory when it
        exceeds ``config.memory_budget``).
    y : array-like of int, shape (n,)
    splits : sequence of (train_idx, test_idx)
        E.g. from :func:`bpnet.crossval.stratified_kfold` or :func:`bpnet.crossval.group_kfold`.
    config : TrainConfig
    device : str or torch.device
        ``"cuda"``, ``"cuda:1"``, ``"cpu"``. Under a ``torch.distributed`` process group each
        rank passes its own device and the batches are sharded across the ranks.
    progress : bool
        A tqdm bar per fold (rank 0 only).
    out_dir : str or Path, optional
        Checkpoints go to ``out_dir/checkpoints/fold<k>.pt`` after every epoch.
    resume : bool
        Reuse finished folds' checkpoints and continue an unfinished one.
    callback : callable, optional
        Called with an :class:`EpochInfo` after every epoch (and checkpoint).
    class_names : sequence of str

    Returns
    -------
    CVResult
        Per-fold confusion matrices, predictions, softmax outputs and curves.

    Raises
    ------
    NonFiniteLossError
        When the training loss stops being finite (the last good checkpoint stays).
    """
    device = torch.device(device)
    info = distributed.current()
    y = np.asarray(y, dtype=np.int64)
    n_classes = len(class_names)
    store = ImageStore(images, y, device, config.memory_budget)
    cuda = device.type == "cuda"
    with torch.random.fork_rng(devices=[]):  # weights are replaced per fold; spare the caller's RNG
        model = build_model(config, n_classes).to(device)
    if cuda and config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    train_module: nn.Module = model
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        train_module = DDP(model, device_ids=[device.index] if cuda else None)
    compiled = config.compile and cuda
    mode = {"mode": config.compile_mode} if config.compile_mode else {}
    train_forward = maybe_compile(train_module, compiled, **mode)
    eval_forward = maybe_compile(model, compiled, **mode) if info.enabled else train_forward
    input_dtype = torch.bfloat16 if (config.amp and cuda) else torch.float32
    augment_fn = build_augment_fn(config, n_classes, input_dtype, cuda and config.channels_last,
                                  compiled and config.compile_augment)
    engine = Engine(model, train_forward, eval_forward, augment_fn, store, config, n_classes, info)
    ckpt_dir = Path(out_dir) / "checkpoints" if out_dir is not None else None
    folds = [_run_fold(engine, k, len(splits), np.asarray(tr), np.asarray(te), y, ckpt_dir, resume,
                       callback, progress) for k, (tr, te) in enumerate(splits)]
    return CVResult(folds, tuple(class_names), config.to_dict())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m resnet_fer.train ARGS`` (for torchrun): ``resnet-fer train ARGS``."""
    from .cli import main as cli_main

    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
