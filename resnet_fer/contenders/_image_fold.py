"""Train one image model (``TrainConfig.arch``) on one fold with ``resnet_fer``'s engine.

The image contenders (``cnn-small``, ``googlenet``, ``resnet18-reg``) differ only in their
recipe: a :class:`~resnet_fer.config.TrainConfig` dictionary plus ``gray`` (grey luma in all
three channels, :func:`resnet_fer.data.tone`). Training, augmentation, class weights (from
the training labels) and evaluation are :func:`resnet_fer.train.cross_validate` on the one
split ``(fold.train, fold.test)``.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..augment import normalize
from ..config import TrainConfig
from ..data import tone
from ..train import build_model, cross_validate
from .base import Fold, FoldFit

__all__ = ["fit_image_fold", "recipe_config", "recipe_images"]


def recipe_config(recipe: dict, seed: int) -> TrainConfig:
    """The :class:`~resnet_fer.config.TrainConfig` of an image recipe, seeded with ``seed``
    (a fold's seed here; the run's seed for the final model, :mod:`resnet_fer.final`)."""
    settings = {k: v for k, v in recipe.items() if k != "gray"}
    settings["seed"] = int(seed)
    return TrainConfig.from_dict(settings)


def recipe_images(images, recipe: dict) -> torch.Tensor:
    """The uint8 images as the recipe's model sees them: grey (luma in all three channels)
    when ``recipe["gray"]``, else as given."""
    images = torch.as_tensor(np.asarray(images))
    return tone(images, gray=True) if recipe.get("gray", False) else images


def _inference_ms(config: TrainConfig, images: torch.Tensor, n_classes: int,
                  device: torch.device) -> float:
    """Milliseconds per image of one evaluation pass (resize, normalise, forward)."""
    with torch.random.fork_rng(devices=[]):
        model = build_model(config, n_classes).to(device).eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, len(images), config.eval_batch_size):
            batch = images[start:start + config.eval_batch_size].to(device)
            model(normalize(batch, config.size, config.mean, config.std,
                            channels_last=device.type == "cuda"))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - t0) * 1000.0 / max(len(images), 1)


def fit_image_fold(fold: Fold, recipe: dict) -> FoldFit:
    """Fit the image model ``recipe`` describes on one fold and predict its test rows."""
    if fold.images is None:
        raise ValueError("an image contender needs fold.images")
    config = recipe_config(recipe, fold.seed)
    images = recipe_images(fold.images, recipe)
    n_classes = len(fold.class_names)
    tr, te = np.asarray(fold.train), np.asarray(fold.test)
    result = cross_validate(images, fold.y, [(tr, te)], config, device=fold.device,
                            progress=fold.progress, out_dir=fold.workdir,
                            class_names=fold.class_names)
    fitted = result.folds[0]
    with torch.random.fork_rng(devices=[]):
        n_params = sum(p.numel() for p in build_model(config, n_classes).parameters())
    ms = _inference_ms(config, images[torch.as_tensor(te)], n_classes, torch.device(fold.device))
    return FoldFit(fitted, int(n_params), float(fitted.seconds or 0.0), ms,
                   info={"arch": config.arch, "size": config.size, "epochs": config.epochs,
                         "gray": bool(recipe.get("gray", False))})
