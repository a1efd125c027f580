"""``resnet18-reg``: the ResNet regularised as the paper's future work proposes.

"Fix the ResNet's over-fitting with dropout and regularisation": the plain CPU recipe (the
``cpu-aligned`` preset of :data:`resnet_fer.config.PRESETS`: eye-aligned 64 px faces, no
dropout, no mixing) with dropout before the classifier, stochastic depth, stronger weight
decay, wider augmentation, label smoothing and mixup. On a GPU the default
:class:`~resnet_fer.config.TrainConfig` (224 px, already with dropout, mixup and cutmix)
gets the same additions. The report puts it next to the plain ``resnet18``.
"""
from __future__ import annotations

from ..config import TrainConfig, get_preset
from ._image_fold import fit_image_fold
from .base import Contender, register

__all__ = ["CONTENDER", "CPU_RECIPE", "GPU_RECIPE", "REGULARISATION"]

#: What is added to the plain recipe on either device.
REGULARISATION = {"dropout": 0.5, "drop_path": 0.1, "weight_decay": 0.1,
                  "label_smoothing": 0.15}

_STRONG_AUGMENT = {"scale": [0.3, 1.0], "degrees": 15.0, "brightness": 0.4, "contrast": 0.4,
                   "saturation": 0.3, "mixup": 0.4, "cutmix": 0.0, "mix_prob": 0.5}

CPU_RECIPE = {**get_preset("cpu-aligned").train.to_dict(), **REGULARISATION,
              "augment": _STRONG_AUGMENT}
GPU_RECIPE = {**TrainConfig().to_dict(), **REGULARISATION}

CONTENDER = register(Contender(
    "resnet18-reg",
    "the ResNet with dropout, stochastic depth, weight decay, stronger augmentation, label "
    "smoothing and mixup (the paper's proposed fix for over-fitting)",
    "images", fit_image_fold, cpu_recipe=CPU_RECIPE, gpu_recipe=GPU_RECIPE,
    # slow on a CPU (docs/compare.rst, "Contenders measured on SFEW"): run there when named,
    # so that fer-compare with no arguments stays within minutes
    default_on=("cuda",),
    quick_recipe={"size": 32, "stem": "small", "width": 8, "epochs": 2, "batch_size": 32,
                  "ema": 0.0}))
