"""``resnet18``: the ResNet-18 layout trained from scratch on the images, one fold at a time.

The recipe depends on the device and the data (:func:`resnet_recipe`); each fold trains with
:func:`resnet_fer.train.cross_validate` on that one split and checkpoints into the fold's own
``workdir``, so an interrupted fold continues where it stopped.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..config import TrainConfig, get_preset
from .base import Contender, Fold, FoldFit, register

__all__ = ["fit_fold", "resnet_recipe"]


def resnet_recipe(device: str, synthetic: bool, quick: bool,
                  preset: str = "auto") -> tuple[dict[str, Any], str, str | None]:
    """The ResNet settings for this device and data, a sentence saying why, and the preset.

    ``preset`` ``"auto"`` chooses: on the synthetic faces a small plain recipe that finishes
    in minutes (at this scale mixup, cutmix and dropout under-fit); with real images on CUDA
    the default :class:`~resnet_fer.config.TrainConfig` (whole frames), on the CPU the
    ``cpu-aligned`` preset (eye-aligned crops, the best CPU recipe of docs/resnet.rst).
    ``"none"`` trains on whole frames; any other name is one of
    :data:`resnet_fer.config.PRESETS`, whose crop setting applies to ``--data`` images.
    Returns ``(TrainConfig keyword arguments, why, preset name or None)``.
    """
    plain = {"dropout": 0.0, "augment": {"mix_prob": 0.0}}
    if quick:
        return ({"size": 32, "stem": "small", "width": 8, "epochs": 2, "batch_size": 32, **plain},
                "--quick: a 2-epoch smoke run, not a result", None)
    if preset not in ("auto", "none"):
        if synthetic:
            raise ValueError(f"--preset {preset}: presets crop real faces; give --data too "
                             "(the synthetic faces use their own recipe)")
        chosen = get_preset(preset)
        return chosen.train.to_dict(), f"preset {preset}: {chosen.description}", preset
    if synthetic:  # 64 px drawings: the same small recipe on any device
        return ({"size": 48, "stem": "imagenet", "width": 32, "epochs": 20, "batch_size": 32,
                 **plain},
                "synthetic faces: 48 px, width 32, batch 32, 20 epochs, plain recipe (a few "
                "minutes on 2 CPU cores)", None)
    if device == "cuda":
        return {}, "CUDA: the default recipe (224 px whole frames, ImageNet stem, width 64)", None
    if preset == "none":
        return ({"size": 64, "stem": "imagenet", "width": 32, "epochs": 60, **plain},
                "CPU: 64 px whole frames, width 32, 60 epochs, plain recipe (docs/resnet.rst)",
                None)
    chosen = get_preset("cpu-aligned")
    return (chosen.train.to_dict(), f"CPU: preset cpu-aligned ({chosen.description})",
            "cpu-aligned")


def choose_recipe(device: str, quick: bool, synthetic: bool, preset: str) -> tuple[dict, str]:
    """The contender's recipe: ``{"train": TrainConfig fields, "preset", "image_size"}``."""
    train, why, chosen = resnet_recipe(device, synthetic, quick, preset)
    config = TrainConfig.from_dict(train)
    return {"train": config.to_dict(), "preset": chosen, "image_size": config.size}, why


def _predict_ms(config: TrainConfig, n_classes: int, images: np.ndarray, device: str) -> float:
    """Milliseconds per image of inference (resize and normalisation included) at batch 64.

    Timed on a model of the recipe's shape: the cost of a forward pass does not depend on
    the weights, and the fold's trained weights stay in its checkpoint.
    """
    import torch
    import torch.nn.functional as F

    from ..train import build_model

    if len(images) == 0:
        return 0.0
    with torch.random.fork_rng(devices=[]):
        model = build_model(config, n_classes).to(device).eval()
    batch = torch.from_numpy(np.ascontiguousarray(images[:64])).to(device)
    with torch.inference_mode():
        def run():
            x = batch.permute(0, 3, 1, 2).float().div_(255)
            x = F.interpolate(x, size=(config.size, config.size), mode="bilinear",
                              antialias=True, align_corners=False)
            return model(x)
        run()  # warm-up
        t0 = time.perf_counter()
        run()
        return (time.perf_counter() - t0) / len(batch) * 1e3


def fit_fold(fold: Fold, recipe: dict) -> FoldFit:
    """Train on ``fold.train`` (checkpoints in ``fold.workdir``), predict ``fold.test``."""
    from ..train import build_model, cross_validate

    config = TrainConfig.from_dict({**recipe["train"], "seed": fold.seed})
    resume = fold.workdir is not None and (fold.workdir / "checkpoints").is_dir()
    t0 = time.perf_counter()
    res = cross_validate(fold.images, fold.y, [(fold.train, fold.test)], config, fold.device,
                         progress=fold.progress, out_dir=fold.workdir, resume=resume,
                         class_names=fold.class_names)
    seconds = time.perf_counter() - t0
    result = res.folds[0]
    n_params = sum(p.numel() for p in build_model(config, len(fold.class_names)).parameters()
                   if p.requires_grad)
    ms = _predict_ms(config, len(fold.class_names), fold.images[fold.test], fold.device)
    return FoldFit(result, int(n_params), float(result.seconds or seconds), ms,
                   {"epochs": config.epochs})


register(Contender(
    "resnet18", "ResNet-18 layout (8 BasicBlocks) trained from scratch on the images; recipe "
    "by device and data (presets for real faces)", "images", fit_fold,
    choose_recipe=choose_recipe))
