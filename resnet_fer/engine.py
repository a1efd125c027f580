"""The training step and evaluation loop, the optimiser and the learning-rate schedule.

:class:`Engine` owns one model for a whole cross-validation run: the folds reload fresh
initial weights into the same module, so ``torch.compile`` traces it once, not once per fold.
Nothing in the step synchronises the GPU with the host; the epoch's loss and accuracy
accumulate on the device and are read once per epoch.
"""
from __future__ import annotations

import contextlib
import functools
import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .augment import augment_batch, normalize, sample_params
from .config import TrainConfig
from .data import ImageStore
from .distributed import DistInfo, all_reduce_sum, current

__all__ = ["Engine", "WeightEMA", "build_optimizer", "lr_factor", "make_scheduler", "maybe_compile",
           "soft_cross_entropy", "tta_views"]


def soft_cross_entropy(logits: Tensor, target: Tensor, label_smoothing: float = 0.0,
                       weight: Tensor | None = None) -> Tensor:
    """Mean cross-entropy against soft targets (mixup/cutmix), with label smoothing.

    Parameters
    ----------
    logits : Tensor, shape (B, C)
    target : Tensor, shape (B, C)
        Rows sum to 1.
    label_smoothing : float
        Target becomes ``(1 - eps) * target + eps / C``.
    weight : Tensor, shape (C,), optional
        Class weights.
    """
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / logits.shape[1]
    # The loss in fp32 even under bf16 autocast: log-softmax of bf16 logits loses digits.
    return F.cross_entropy(logits.float(), target, weight=weight)


def lr_factor(step: int, total: int, schedule: str = "onecycle", warmup: float = 0.15) -> float:
    """Learning-rate multiplier at optimiser step ``step`` of ``total``.

    ``"onecycle"``: linear warm-up from 1/25 to 1 over the first ``warmup`` fraction, then
    cosine annealing to 1e-4 (``torch.optim.lr_scheduler.OneCycleLR`` without momentum
    cycling). ``"cosine"``: linear warm-up from 0, then cosine annealing to 0.
    """
    n_warm = int(round(warmup * total))
    if step < n_warm:
        start = 1 / 25 if schedule == "onecycle" else 0.0
        return start + (1 - start) * (step + 1) / n_warm
    t = min(1.0, (step - n_warm) / max(1, total - n_warm))
    floor = 1e-4 if schedule == "onecycle" else 0.0
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))


def build_optimizer(model: nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """The recipe's AdamW; no weight decay on BatchNorm and bias parameters; fused kernels
    on CUDA. (``build_*`` builds from a config, as
    :meth:`bpnet.settings.Settings.build_optimizer`; ``bpnet.make_optimizer`` by name.)"""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    # Fused: one kernel for all parameters instead of several per tensor.
    extra = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.999), **extra)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                   total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step :func:`lr_factor` schedule (its state dict holds numbers only)."""
    def factor(step: int) -> float:
        return lr_factor(step, total_steps, config.schedule, config.warmup)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class WeightEMA:
    """An exponential moving average of a model's weights and BatchNorm statistics.

    After every optimiser step, ``shadow = d * shadow + (1 - d) * current`` for every floating
    tensor of the state dict (integer buffers are copied), with ``d = min(decay, (1 + t) /
    (10 + t))`` at step ``t``: the warm-up keeps the random initial weights from lingering in
    the average of a short run (timm's ``ModelEmaV2`` without it; TensorFlow's
    ``ExponentialMovingAverage`` with ``num_updates``).

    Parameters
    ----------
    model : nn.Module
    decay : float
        E.g. 0.99: an average over roughly the last 100 steps.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay, self.steps = float(decay), 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold the model's current weights into the average."""
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        self.steps += 1
        current = model.state_dict()
        floats = [k for k, v in self.shadow.items() if v.is_floating_point()]
        # One fused kernel over all tensors instead of one small kernel per tensor.
        torch._foreach_lerp_([self.shadow[k] for k in floats], [current[k] for k in floats], 1 - d)
        for k, v in self.shadow.items():
            if not v.is_floating_point():
                v.copy_(current[k])

    @contextlib.contextmanager
    def applied(self, model: nn.Module):
        """Run the block with the averaged weights in ``model``; its own are restored after."""
        own = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.shadow)
        try:
            yield model
        finally:
            model.load_state_dict(own)

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "steps": self.steps, "shadow": self.shadow}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decay, self.steps = float(state["decay"]), int(state["steps"])
        for k, v in state["shadow"].items():
            self.shadow[k].copy_(v)


def tta_views(x: Tensor, mode: str) -> list[Tensor]:
    """The test-time views of a normalised batch ``x`` (B, C, H, W) for a ``tta`` mode.

    ``"none"``: ``[x]``; ``"flip"``: ``x`` and its mirror; ``"crops"``: those two and the
    centre 90 % of each, enlarged back to (H, W) (a slight zoom, as the random crops of
    training show the net).
    """
    if mode == "none":
        return [x]
    views = [x, x.flip(3)]
    if mode == "crops":
        h, w = x.shape[2:]
        dh, dw = round(0.05 * h), round(0.05 * w)
        fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) \
            else torch.contiguous_format
        zoom = F.interpolate(x[:, :, dh:h - dh, dw:w - dw].float(), size=(h, w), mode="bilinear",
                             align_corners=False).to(dtype=x.dtype, memory_format=fmt)
        views += [zoom, zoom.flip(3)]
    elif mode != "flip":
        raise ValueError(f"unknown tta mode {mode!r}")
    return views


class _Compiled:
    """``torch.compile(fn)`` that falls back to eager, with a warning, if compilation fails."""

    def __init__(self, fn: Callable, **kwargs: Any) -> None:
        self.eager, self.compiled, self.kwargs = fn, torch.compile(fn, **kwargs), kwargs

    def __call__(self, *args: Any) -> Any:
        if self.compiled is not None:
            try:
                return self.compiled(*args)
            except Exception as exc:  # compiler or backend failure: the eager path still works
                warnings.warn(f"torch.compile failed ({type(exc).__name__}: {str(exc)[:300]}); "
                              "running eagerly", RuntimeWarning, stacklevel=2)
                self.compiled = None
        return self.eager(*args)


def maybe_compile(fn: Callable, enabled: bool, **kwargs: Any) -> Callable:
    """``fn`` compiled with ``torch.compile(**kwargs)`` when ``enabled``, else ``fn``."""
    return _Compiled(fn, **kwargs) if enabled else fn


class Engine:
    """A model and its data on one device, with its training and evaluation paths.

    The engine works out everything that depends on the device once: bf16 autocast on CUDA
    (fp32 on CPU), the channels_last layout (``config.channels_last``, on CUDA), the
    DistributedDataParallel wrapper under a process group, ``torch.compile`` of the model and
    of the augmentation (:func:`resnet_fer.augment.augment_batch`) on CUDA.

    Parameters
    ----------
    model : nn.Module
        The plain module, already on ``store.device``; its ``state_dict`` is what
        checkpoints hold. It is converted to channels_last in place on CUDA when
        ``config.channels_last``.
    store : ImageStore
    config : TrainConfig
    n_classes : int
    dist : DistInfo, optional
        Default: the current process group (:func:`resnet_fer.distributed.current`).

    Attributes
    ----------
    train_forward, eval_forward : callable
        The module as called in training (DDP-wrapped and/or compiled) and evaluation.
    augment_fn : callable
        ``(uint8 images, labels, parameter table) -> (input, soft targets)``.
    """

    def __init__(self, model: nn.Module, store: ImageStore, config: TrainConfig, n_classes: int,
                 dist: DistInfo | None = None) -> None:
        self.model, self.store, self.config, self.n_classes = model, store, config, n_classes
        self.dist = current() if dist is None else dist
        cuda = self.device.type == "cuda"
        self.amp = config.amp and cuda
        # NHWC for cuDNN's fastest bf16 convolutions. Not on the CPU: oneDNN's channels_last
        # backward crashed (segmentation fault, torch 2.14) on small widths with odd batches.
        self.channels_last = config.channels_last and cuda
        # bf16 inputs on CUDA: autocast would cast the first conv's input anyway; this halves
        # the augmentation's writes. bf16 (not fp16) needs no loss scaling.
        self.input_dtype = torch.bfloat16 if self.amp else torch.float32
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        train_module: nn.Module = model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            train_module = DDP(model, device_ids=[self.device.index] if cuda else None)
        compiled = config.compile and cuda
        mode = {"mode": config.compile_mode} if config.compile_mode else {}
        self.train_forward = maybe_compile(train_module, compiled, **mode)
        # Under DDP, evaluation calls the plain module (no gradient hooks, no buffer broadcast).
        self.eval_forward = (maybe_compile(model, compiled, **mode) if self.dist.enabled
                             else self.train_forward)
        self.augment_fn = self.build_augment_fn(compiled and config.compile_augment)

    def build_augment_fn(self, compiled: bool) -> Callable:
        """:func:`~resnet_fer.augment.augment_batch` bound to this engine's recipe and device."""
        aug = self.config.augment
        fn = functools.partial(
            augment_batch, n_classes=self.n_classes, size=self.config.size,
            mean=tuple(self.config.mean), std=tuple(self.config.std), dtype=self.input_dtype,
            channels_last=self.channels_last,
            mixing=aug.mix_prob > 0 and (aug.mixup > 0 or aug.cutmix > 0))
        # dynamic=False: the batch shape never changes, so specialise (and fuse) fully.
        return maybe_compile(fn, compiled, dynamic=False)

    @property
    def device(self) -> torch.device:
        return self.store.device

    def autocast(self):
        if self.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def batch_size(self, n_train: int) -> int:
        """The global batch: ``config.batch_size``, at most the training set, a multiple of world."""
        world = self.dist.world_size
        b = min(self.config.batch_size, n_train) // world * world
        if b < world:
            raise ValueError(f"{n_train} training images cannot fill a batch on {world} ranks")
        return b

    def train_epoch(self, optimizer: torch.optim.Optimizer, scheduler: Any, train_idx: np.ndarray,
                    seed: Sequence[int], class_weight: Tensor | None = None,
                    ema: WeightEMA | None = None) -> tuple[float, float]:
        """One epoch over a random order of ``train_idx``; returns (mean loss, accuracy).

        With ``ema``, the weight average is updated after every optimiser step.

        The order and the augmentation parameters are drawn from ``seed`` (e.g.
        ``(seed, fold, epoch)``), so an epoch is the same whether or not the run was resumed.
        The last ``len(train_idx) % batch`` samples of the order are dropped: every step has
        the same shape (one compiled graph, equal BatchNorm batches).
        """
        cfg, rank, world = self.config, self.dist.rank, self.dist.world_size
        b_global = self.batch_size(len(train_idx))
        steps = len(train_idx) // b_global
        rng = np.random.default_rng(list(seed))
        order = rng.permutation(train_idx)[: steps * b_global]
        params = sample_params(len(order), cfg.augment, list(seed) + [1]).table
        # This rank's share of every global batch: positions rank, rank + world, ...
        mine = np.arange(steps * b_global).reshape(steps, b_global)[:, rank::world].reshape(-1)
        order_dev = torch.from_numpy(order[mine]).to(self.store.index_device)
        table = params[torch.from_numpy(mine)].to(self.device)  # one small copy per epoch
        b = b_global // world
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        self.model.train()
        for step in range(steps):
            rows = slice(step * b, (step + 1) * b)
            images, y = self.store.gather(order_dev[rows])
            x, target = self.augment_fn(images, y, table[rows])
            with self.autocast():
                logits = self.train_forward(x)
            loss = soft_cross_entropy(logits, target, cfg.label_smoothing, class_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update(self.model)
            loss_sum += loss.detach() * b
            correct += (logits.detach().argmax(1) == y).sum()
        totals = all_reduce_sum(torch.stack([loss_sum, correct.float()]))
        loss, hits = totals.tolist()  # the one host-device synchronisation of the epoch
        return loss / (steps * b_global), hits / (steps * b_global)

    @torch.no_grad()
    def predict(self, index: np.ndarray) -> Tensor:
        """Logits (float32, CPU) of the images at ``index``, in eval mode, unaugmented.

        With test-time augmentation (``config.tta``) the result is the log of the softmax
        outputs averaged over the views (:func:`tta_views`): its softmax is that average.
        """
        cfg = self.config
        eb = cfg.eval_batch_size
        pad = cfg.compile and self.device.type == "cuda"  # one shape -> one compiled graph
        self.model.eval()
        out = []
        for start in range(0, len(index), eb):
            chunk = np.asarray(index[start:start + eb])
            m = len(chunk)
            if pad and m < eb:
                chunk = np.concatenate([chunk, np.repeat(chunk[:1], eb - m)])
            images, _ = self.store.gather(torch.from_numpy(chunk).to(self.store.index_device))
            x = normalize(images, cfg.size, dtype=self.input_dtype, channels_last=self.channels_last)
            views = tta_views(x, cfg.tta)
            with self.autocast():
                logits = [self.eval_forward(v)[:m].float() for v in views]
            if len(logits) == 1:
                out.append(logits[0])
            else:  # log of the mean probability, so softmax and cross-entropy stay meaningful
                logp = torch.stack([F.log_softmax(z, 1) for z in logits])
                out.append(torch.logsumexp(logp, 0) - math.log(len(logits)))
        self.model.train()
        return torch.cat(out).cpu()
