"""The models ``fer-compare`` compares on the same folds (see :mod:`.base` for how to add one).

Importing this package registers every contender module listed in ``_MODULES``.
"""
from __future__ import annotations

from importlib import import_module

from .base import INPUTS, Contender, Fold, FoldFit, available, get, register, registry

__all__ = ["INPUTS", "Contender", "Fold", "FoldFit", "available", "get", "register", "registry"]

#: contender modules, imported (and so registered) in this order
_MODULES: tuple[str, ...] = ("bp", "resnet", "bp_tuned", "bp_descriptors", "linear_descriptors",
                             "cnn_small", "googlenet", "resnet_reg")

for _name in _MODULES:
    import_module(f"{__name__}.{_name}")
