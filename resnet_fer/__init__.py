"""resnet_fer: the image branch (a ResNet with 8 BasicBlocks trained on face images, in PyTorch).

Modules: :mod:`~resnet_fer.model` (the network), :mod:`~resnet_fer.data` (decode, cache,
device-resident uint8 store), :mod:`~resnet_fer.augment` (batched on-device augmentation),
:mod:`~resnet_fer.train` (cross-validation, checkpoints, DDP), :mod:`~resnet_fer.cli` and
:mod:`~resnet_fer.compare` (``fer-compare``: both branches on the same folds),
:mod:`~resnet_fer.predictor` (``load_model``: a saved model on new photos) and
:mod:`~resnet_fer.predict` (``fer-predict``). Results are
:class:`bpnet.results.CVResult`, shared with the BP network.
The main names are importable from the package; submodules load on first use, so
``import resnet_fer`` alone does not import PyTorch.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["AugmentConfig", "CVResult", "FaceImages", "ImageStore", "ResNet", "TrainConfig",
           "cross_validate", "load_image_folder", "load_model", "normalize", "resnet18",
           "synthetic_images"]

_WHERE = {
    "AugmentConfig": "config", "TrainConfig": "config", "CVResult": "bpnet.results",
    "FaceImages": "data", "ImageStore": "data", "load_image_folder": "data",
    "synthetic_images": "data", "ResNet": "model", "resnet18": "model",
    "normalize": "augment", "cross_validate": "train", "load_model": "predictor",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        where = _WHERE[name]
        module = importlib.import_module(where if "." in where else f".{where}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
