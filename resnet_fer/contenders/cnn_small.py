"""``cnn-small``: a shallow CNN made for a few hundred faces (the paper's "CNN").

Four VGG-style conv blocks (:class:`resnet_fer.cnn.SmallCNN`) on grey eye-aligned faces at
48 px (CPU) or 64 px (GPU), with the regularisation that suits 540 training images: dropout
before the classifier, AdamW weight decay, random crops, flips, rotations and contrast
jitter, label smoothing, a little mixup, a weight EMA and flip test-time augmentation.
"""
from __future__ import annotations

from ._image_fold import fit_image_fold
from .base import Contender, register

__all__ = ["CONTENDER", "CPU_RECIPE", "GPU_RECIPE"]

_AUGMENT = {"scale": [0.6, 1.0], "degrees": 10.0, "brightness": 0.3, "contrast": 0.3,
            "saturation": 0.0, "mixup": 0.2, "cutmix": 0.0, "mix_prob": 0.3}

#: 48 px grey faces, width 16: about as many multiply-adds per image as the CPU ResNet.
CPU_RECIPE = {"arch": "cnn-small", "blocks": 4, "width": 16, "size": 48, "gray": True,
              "dropout": 0.5, "weight_decay": 0.05, "lr": 3e-3, "label_smoothing": 0.1,
              "epochs": 50, "batch_size": 64, "ema": 0.99, "tta": "flip",
              "augment": _AUGMENT}

#: On a GPU: 64 px, twice the width, longer.
GPU_RECIPE = {**CPU_RECIPE, "width": 32, "size": 64, "epochs": 120}

CONTENDER = register(Contender(
    "cnn-small",
    "shallow CNN (4 conv blocks, dropout, weight decay, augmentation, label smoothing) on "
    "grey faces",
    "images", fit_image_fold, cpu_recipe=CPU_RECIPE, gpu_recipe=GPU_RECIPE,
    # slow on a CPU (docs/compare.rst, "Contenders measured on SFEW"): run there when named,
    # so that fer-compare with no arguments stays within minutes
    default_on=("cuda",),
    quick_recipe={"width": 8, "size": 32, "epochs": 2, "batch_size": 32, "ema": 0.0}))
