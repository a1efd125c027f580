"""Batched on-device augmentation: the performance-critical kernels of the image branch.

A batch of uint8 images (B, H, W, 3), already on the training device, goes through

1. one affine resampling (``affine_grid`` + ``grid_sample``) that does, per sample, a random
   resized crop, a horizontal flip and a small rotation at once;
2. colour jitter (brightness, contrast, saturation) with per-sample factors;
3. normalisation, written as ``dtype`` in channels_last memory layout;
4. optionally (:func:`mix`) mixup or cutmix with soft targets.

There is no Python loop over images: every random parameter is a column of one
(n, len(COLUMNS)) table (:class:`AugmentParams`) drawn with NumPy for a whole epoch at once,
so a run's augmentations depend only on the seed (not on the device, nor on how far an
interrupted run got), and the device receives one small copy per epoch instead of running a
random-number kernel per step. The same code runs on CPU (tests) and GPU; on CUDA the
trainer compiles the whole uint8 -> (input, soft targets) function
(:func:`augment_batch`, in :class:`resnet_fer.engine.Engine`) with ``torch.compile``: inductor decomposes
``grid_sampler_2d`` and fuses the bilinear gather, jitter, normalisation and mixing into a
few Triton kernels that read uint8 and write bf16, so no hand-written kernel is needed
(``benchmarks/bench_resnet.py`` times eager against compiled).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .config import IMAGENET_MEAN, IMAGENET_STD, AugmentConfig

__all__ = ["AugmentConfig", "AugmentParams", "COLUMNS", "IMAGENET_MEAN", "IMAGENET_STD",
           "augment", "augment_batch", "identity_params", "mix", "normalize", "sample_params"]

#: Columns of the table of :class:`AugmentParams`.
COLUMNS = ("crop_w", "crop_h", "cx", "cy", "angle", "flip", "brightness", "contrast",
           "saturation", "mix_kind", "mix_lam", "box_x0", "box_y0", "box_x1", "box_y1")
_C = {name: j for j, name in enumerate(COLUMNS)}
NO_MIX, MIXUP, CUTMIX = 0.0, 1.0, 2.0
_GRAY = (0.299, 0.587, 0.114)  # ITU-R 601 luma, as torchvision's rgb_to_grayscale


@dataclass
class AugmentParams:
    """Per-sample augmentation parameters: one row per sample, one column per name in COLUMNS.

    Attributes
    ----------
    table : Tensor, shape (n, len(COLUMNS)), float32
        ``crop_w, crop_h`` crop size as a fraction of the image width/height; ``cx, cy`` crop
        centre in ``grid_sample``'s normalised coordinates [-1, 1]; ``angle`` in radians;
        ``flip`` -1 (flip) or 1; jitter factors; ``mix_kind`` 0 none, 1 mixup, 2 cutmix;
        ``mix_lam`` the mixup weight of the sample's own image; ``box_*`` the cutmix box in
        [0, 1] image fractions.
    """

    table: Tensor

    def __len__(self) -> int:
        return self.table.shape[0]

    def __getitem__(self, index) -> "AugmentParams":
        return AugmentParams(self.table[index])

    def __getattr__(self, name: str) -> Tensor:
        if name in _C:
            return self.table[:, _C[name]]
        raise AttributeError(name)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "AugmentParams":
        """The same parameters on ``device``."""
        return AugmentParams(self.table.to(device, non_blocking=non_blocking))


def identity_params(n: int, device: torch.device | str = "cpu") -> AugmentParams:
    """Parameters that leave images unchanged: whole-image crop, no flip, rotation, jitter, mix."""
    row = {"crop_w": 1.0, "crop_h": 1.0, "flip": 1.0, "brightness": 1.0, "contrast": 1.0,
           "saturation": 1.0, "mix_lam": 1.0}
    table = torch.tensor([row.get(c, 0.0) for c in COLUMNS], dtype=torch.float32, device=device)
    return AugmentParams(table.repeat(n, 1))


def sample_params(n: int, config: AugmentConfig, seed: int | Sequence[int] | np.random.Generator,
                  device: torch.device | str = "cpu") -> AugmentParams:
    """Draw ``n`` rows of augmentation parameters.

    Parameters
    ----------
    n : int
        Number of samples (typically a whole epoch).
    config : AugmentConfig
    seed : int, sequence of int or np.random.Generator
        ``np.random.default_rng(seed)``; e.g. ``(seed, fold, epoch)`` makes every epoch's
        parameters a pure function of its coordinates, so a resumed run draws the same.
    device : torch.device or str
        Where the table goes (one copy).

    Returns
    -------
    AugmentParams
    """
    rng = np.random.default_rng(seed)
    U = rng.uniform
    area = U(*config.scale, n)
    log_ratio = U(math.log(config.ratio[0]), math.log(config.ratio[1]), n)
    # Clipping to the image replaces torchvision's 10 rejection retries: same spirit, no loop.
    crop_w = np.minimum(np.sqrt(area * np.exp(log_ratio)), 1.0)
    crop_h = np.minimum(np.sqrt(area / np.exp(log_ratio)), 1.0)
    cx, cy = U(-1, 1, n) * (1 - crop_w), U(-1, 1, n) * (1 - crop_h)
    angle = np.deg2rad(U(-config.degrees, config.degrees, n))
    flip = np.where(U(0, 1, n) < config.flip, -1.0, 1.0)
    jitter = [U(1 - v, 1 + v, n) for v in (config.brightness, config.contrast, config.saturation)]

    kinds = [k for k, alpha in ((MIXUP, config.mixup), (CUTMIX, config.cutmix)) if alpha > 0]
    mixed = U(0, 1, n) < (config.mix_prob if kinds else 0.0)
    kind = np.where(mixed, rng.choice(kinds, n) if kinds else NO_MIX, NO_MIX)
    lam = np.ones(n)
    box = np.zeros((n, 4))
    if config.mixup > 0:
        m = kind == MIXUP
        lam[m] = rng.beta(config.mixup, config.mixup, int(m.sum()))
    if config.cutmix > 0:
        c = kind == CUTMIX
        side = np.sqrt(1 - rng.beta(config.cutmix, config.cutmix, int(c.sum())))
        centre = U(0, 1, (int(c.sum()), 2))
        half = side[:, None] / 2
        box[c] = np.clip(np.concatenate([centre - half, centre + half], 1), 0, 1)
    table = np.column_stack([crop_w, crop_h, cx, cy, angle, flip, *jitter, kind, lam, box])
    return AugmentParams(torch.as_tensor(table, dtype=torch.float32).to(device))


def _as_nchw_float(images: Tensor) -> Tensor:
    """uint8 (B, H, W, 3) or (B, H, W) -> float32 (B, 3, H, W), channels_last in memory."""
    if images.dtype != torch.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"expected uint8 images (B, H, W[, 3]), got {images.dtype} "
                         f"{tuple(images.shape)}")
    if images.ndim == 3:
        images = images.unsqueeze(-1)
    if images.shape[-1] == 1:
        images = images.expand(-1, -1, -1, 3)
    # permute is a free view: NHWC storage read as NCHW is exactly channels_last.
    return images.permute(0, 3, 1, 2).float()


def _gray(x: Tensor) -> Tensor:
    r, g, b = x.unbind(1)
    return (_GRAY[0] * r + _GRAY[1] * g + _GRAY[2] * b).unsqueeze(1)


def _finish(x: Tensor, mean: Sequence[float], std: Sequence[float], dtype: torch.dtype,
            channels_last: bool) -> Tensor:
    """(x / 255 - mean) / std, cast to ``dtype``, in the requested memory layout."""
    # Folding 1/255 into mean and std: one multiply-add per element instead of three ops.
    m = torch.tensor([255.0 * v for v in mean], device=x.device).view(1, 3, 1, 1)
    s = torch.tensor([1.0 / (255.0 * v) for v in std], device=x.device).view(1, 3, 1, 1)
    x = (x - m) * s
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return x.to(dtype=dtype, memory_format=fmt)


def _size(size: int | tuple[int, int] | None, h: int, w: int) -> tuple[int, int]:
    if size is None:
        return h, w
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _col(table: Tensor, name: str, n: int | None = None) -> Tensor:
    """Column ``name`` of a parameter table, as (n,) or, with ``n``, (n, 1, 1, 1)."""
    c = table[:, _C[name]]
    return c if n is None else c.view(n, 1, 1, 1)


def _augment_core(images: Tensor, table: Tensor, out_h: int, out_w: int, mean: Sequence[float],
                  std: Sequence[float], dtype: torch.dtype, channels_last: bool) -> Tensor:
    x = _as_nchw_float(images)
    n, _, h, w = x.shape
    t = table.to(x.device)
    angle = _col(t, "angle")
    cos, sin = torch.cos(angle), torch.sin(angle)
    sx, sy = _col(t, "crop_w") * _col(t, "flip"), _col(t, "crop_h")
    # Output (u, v) in [-1, 1] -> input: centre + R @ diag(sx, sy) @ (u, v). R rotates in pixel
    # space, which in normalised coordinates needs the H/W factors off the diagonal.
    theta = torch.stack([
        torch.stack([cos * sx, -sin * sy * (h / w), _col(t, "cx")], 1),
        torch.stack([sin * sx * (w / h), cos * sy, _col(t, "cy")], 1),
    ], 1)
    grid = F.affine_grid(theta, [n, 3, out_h, out_w], align_corners=False)
    # Reflection padding: a rotated crop's corners show mirrored face, not black wedges.
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    x = (x * _col(t, "brightness", n)).clamp(0, 255)
    grey_mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - grey_mean) * _col(t, "contrast", n) + grey_mean).clamp(0, 255)
    grey = _gray(x)
    x = ((x - grey) * _col(t, "saturation", n) + grey).clamp(0, 255)
    return _finish(x, mean, std, dtype, channels_last)


def _mix_core(x: Tensor, y: Tensor, table: Tensor, n_classes: int) -> tuple[Tensor, Tensor]:
    n, _, h, w = x.shape
    t = table.to(x.device)
    kind = _col(t, "mix_kind", n)
    rows = ((torch.arange(h, device=x.device, dtype=torch.float32) + 0.5) / h).view(1, 1, h, 1)
    cols = ((torch.arange(w, device=x.device, dtype=torch.float32) + 0.5) / w).view(1, 1, 1, w)
    inside = ((rows >= _col(t, "box_y0", n)) & (rows < _col(t, "box_y1", n))
              & (cols >= _col(t, "box_x0", n)) & (cols < _col(t, "box_x1", n)))
    # Weight of the sample's own pixels: 1 (no mix), lambda (mixup), 0 inside the box (cutmix).
    keep = torch.where(kind == CUTMIX, (~inside).float(),
                       torch.where(kind == MIXUP, _col(t, "mix_lam", n), torch.ones_like(kind)))
    own = keep.mean(dim=(1, 2, 3))
    mixed = torch.lerp(x.flip(0), x, keep.to(x.dtype))
    onehot = F.one_hot(y, n_classes).float()
    target = torch.lerp(onehot.flip(0), onehot, own.view(n, 1))
    cl = x.is_contiguous(memory_format=torch.channels_last)
    fmt = torch.channels_last if cl else torch.contiguous_format
    return mixed.contiguous(memory_format=fmt), target


def augment(images: Tensor, params: AugmentParams, size: int | tuple[int, int] | None = None,
            mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
            dtype: torch.dtype = torch.float32, channels_last: bool = True) -> Tensor:
    """Crop, flip, rotate, colour-jitter and normalise a batch, all samples at once.

    Parameters
    ----------
    images : Tensor, uint8, shape (B, H, W, 3) or (B, H, W)
        On the device that does the work.
    params : AugmentParams
        B rows (moved to the images' device if needed). The mix columns are ignored here;
        see :func:`mix`.
    size : int or (int, int), optional
        Output height and width; default the input's.
    mean, std : sequence of 3 floats
        Normalisation on the [0, 1] scale.
    dtype : torch.dtype
        Output dtype (bf16 for the CUDA training path).
    channels_last : bool
        Output memory format (what cuDNN's fastest bf16 convolutions want).

    Returns
    -------
    Tensor, shape (B, 3, *size)
    """
    if len(params) != images.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {len(params)} parameter rows")
    out_h, out_w = _size(size, images.shape[1], images.shape[2])
    return _augment_core(images, params.table, out_h, out_w, tuple(mean), tuple(std), dtype,
                         channels_last)


def normalize(images: Tensor, size: int | tuple[int, int] | None = None,
              mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
              dtype: torch.dtype = torch.float32, channels_last: bool = True) -> Tensor:
    """The evaluation transform: resize (antialiased, only if ``size`` differs) and normalise.

    Parameters and output as :func:`augment`, without the random part.
    """
    x = _as_nchw_float(images)
    out = _size(size, *x.shape[2:])
    if out != tuple(x.shape[2:]):
        x = F.interpolate(x, size=out, mode="bilinear", align_corners=False, antialias=True)
    return _finish(x, mean, std, dtype, channels_last)


def mix(x: Tensor, y: Tensor, params: AugmentParams, n_classes: int) -> tuple[Tensor, Tensor]:
    """Mixup / cutmix each sample with its partner in the reversed batch, per-sample weights.

    Pairing sample ``i`` with ``B - 1 - i`` (``x.flip(0)``, as timm does) is as random as a
    permutation because batches are drawn at random, and needs no index tensor.

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W)
        Normalised images (output of :func:`augment`).
    y : Tensor, int64, shape (B,)
    params : AugmentParams
        Its ``mix_kind``, ``mix_lam`` and ``box_*`` columns are used.
    n_classes : int

    Returns
    -------
    x_mixed : Tensor, like ``x``
    target : Tensor, float32, shape (B, n_classes)
        Soft labels weighted by each sample's share of the mixed image (for cutmix, the
        exact pixel area of the box).
    """
    if len(params) != x.shape[0]:
        raise ValueError(f"{x.shape[0]} images but {len(params)} parameter rows")
    return _mix_core(x, y, params.table, n_classes)


def augment_batch(images: Tensor, y: Tensor, params: AugmentParams | Tensor, n_classes: int,
                  size: int | tuple[int, int] | None = None, mean: Sequence[float] = IMAGENET_MEAN,
                  std: Sequence[float] = IMAGENET_STD, dtype: torch.dtype = torch.float32,
                  channels_last: bool = True, mixing: bool = True) -> tuple[Tensor, Tensor]:
    """:func:`augment` then :func:`mix`: uint8 batch -> (training input, soft targets).

    This is the function the trainer compiles on CUDA (:class:`resnet_fer.engine.Engine`):
    one graph from uint8 pixels to the bf16 input and its targets.

    Parameters
    ----------
    params : AugmentParams or Tensor
        B rows, or their ``table`` (what the trainer passes: a plain tensor is the cheapest
        input for a compiled graph to guard on).
    mixing : bool
        False skips :func:`mix` (the targets are then one-hot), for recipes without
        mixup/cutmix.
    Other parameters and the output as :func:`augment` and :func:`mix`.
    """
    table = params.table if isinstance(params, AugmentParams) else params
    out_h, out_w = _size(size, images.shape[1], images.shape[2])
    x = _augment_core(images, table, out_h, out_w, tuple(mean), tuple(std), dtype, channels_last)
    if mixing:
        return _mix_core(x, y, table, n_classes)
    return x, F.one_hot(y, n_classes).float()
