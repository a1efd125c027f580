"""``googlenet``: torchvision's GoogLeNet (Inception v1) trained from scratch.

The paper's "GoogLeNet". With 6 M parameters and 1.5 G multiply-adds per 224 px image it is
sized for a GPU, so it runs by default only on CUDA; on a CPU it runs when named
(``--models googlenet``), at 96 px.
"""
from __future__ import annotations

from ._image_fold import fit_image_fold
from .base import Contender, register

__all__ = ["CONTENDER", "CPU_RECIPE", "GPU_RECIPE"]

#: From scratch the auxiliary heads are off (``aux_logits=False``); dropout before the
#: classifier, the default augmentation with mixup and cutmix, label smoothing.
GPU_RECIPE = {"arch": "googlenet", "size": 224, "epochs": 80, "batch_size": 64, "lr": 2e-3,
              "weight_decay": 0.05, "dropout": 0.4, "label_smoothing": 0.1, "tta": "flip"}

#: On a CPU: 96 px (the smallest size where its last map is still 3x3), fewer epochs.
CPU_RECIPE = {**GPU_RECIPE, "size": 96, "epochs": 30}

CONTENDER = register(Contender(
    "googlenet",
    "torchvision GoogLeNet (Inception v1) from scratch, no auxiliary heads",
    "images", fit_image_fold, cpu_recipe=CPU_RECIPE, gpu_recipe=GPU_RECIPE,
    default_on=("cuda",),
    quick_recipe={"size": 32, "epochs": 1, "batch_size": 32, "tta": "none"}))
