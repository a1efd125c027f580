"""What a training run is, in one place: the settings, their builders, the class weights.

Every layer that trains a network needs the same few definitions, so they live here, below
the training loop's callers and above nothing but the core. :class:`Settings` is the one
frozen description of a network and its training; :class:`~bpnet.BPClassifier` takes its
fields as arguments, and :func:`bpnet.cross_validate` and
:func:`bpnet.model_selection.grid_search_cv` take the same names with the same defaults, so a
setting found with one means the same with the other. :func:`class_weights` is the one
formula of ``class_weight`` for all of them and for ``resnet_fer``.

Class weights are a statistic fitted on data, so they are fitted on the training rows of
a fold only: :func:`class_weights` takes ``y_train``, never the whole label vector.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .network import BPNetwork
from .optim import FlatParams, Optimizer, make_optimizer
from .steps import FullBatch, MiniBatch, make_steps

__all__ = ["PARAMS", "Settings", "class_weights"]


@dataclass(frozen=True)
class Settings:
    """A network and how it is trained: :class:`~bpnet.BPClassifier`'s arguments of the
    same names (see there for each one's meaning), with the same defaults.

    ``input_noise`` is the standard deviation of the Gaussian noise added to the inputs of
    every training step (the input noise of :func:`bpnet.training.train`; 0: none).
    """

    n_hidden: int = 16
    hidden: str = "sigmoid"
    output: str = "sigmoid"
    loss: str = "mse"
    optimizer: str = "adam"
    lr: Any = 0.01
    epochs: int = 300
    batch_size: int | None = None
    weight_decay: Any = 0.0
    momentum: float = 0.9
    class_weight: Any = None
    init: str = "torch"
    dtype: str = "float64"
    input_noise: Any = 0.0

    @classmethod
    def from_dict(cls, overrides: dict, **defaults) -> "Settings":
        """The defaults of this class, then ``defaults``, then ``overrides``; an unknown
        name is a ValueError listing the valid ones."""
        unknown = sorted((set(overrides) | set(defaults)) - set(PARAMS))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; valid: {', '.join(PARAMS)}")
        return cls(**{**defaults, **overrides})

    def to_dict(self) -> dict:
        """Every setting by name (a plain dict: the form results record)."""
        return {name: getattr(self, name) for name in PARAMS}

    def build_network(self, n_inputs: int, n_classes: int, rng, *, class_weight=None,
                      n_models: int | None = None, n_hidden: int | None = None) -> BPNetwork:
        """The network these settings describe, its initial weights drawn from ``rng``.

        ``class_weight`` goes into the network (cross-entropy only: see
        :class:`~bpnet.BPNetwork`); ``n_hidden`` overrides the setting (a stack padded to
        its largest model).
        """
        return BPNetwork(n_inputs, self.n_hidden if n_hidden is None else n_hidden, n_classes,
                         hidden=self.hidden, output=self.output, loss=self.loss,
                         class_weight=class_weight, init=self.init, dtype=np.dtype(self.dtype),
                         seed=rng, n_models=n_models)

    def build_optimizer(self, params: dict, *, lr=None, weight_decay=None,
                        flat: bool = False) -> Optimizer | FlatParams:
        """The optimiser these settings describe, on ``params`` (``momentum``: SGD only).

        ``lr`` and ``weight_decay`` override the settings (a stack's per-model ``(K,)``
        arrays); ``flat`` builds a :class:`~bpnet.optim.FlatParams` over a stack's parameters
        (the same trajectory, fewer NumPy calls).
        """
        kwargs = {"lr": self.lr if lr is None else lr,
                  "weight_decay": self.weight_decay if weight_decay is None else weight_decay}
        if str(self.optimizer).lower() == "sgd":
            kwargs["momentum"] = self.momentum
        if flat:
            return FlatParams(str(self.optimizer), params, stacked=True, **kwargs)
        return make_optimizer(self.optimizer, params, **kwargs)

    def steps(self) -> FullBatch | MiniBatch:
        """The step rule of :func:`bpnet.training.train`: ``batch_size`` and ``input_noise``."""
        return make_steps(self.batch_size, self.input_noise)

    def class_weights(self, y_train, n_classes: int, classes=None) -> np.ndarray | None:
        """:func:`class_weights` of this ``class_weight``, fitted on ``y_train`` only."""
        return class_weights(y_train, n_classes, self.class_weight, classes)

    def replace(self, **changes) -> "Settings":
        """A copy with ``changes`` (unknown names are a ValueError)."""
        return Settings.from_dict({**self.to_dict(), **changes})


#: The names of the settings, in :class:`Settings`' order.
PARAMS = tuple(f.name for f in dataclasses.fields(Settings))


def class_weights(y_train, n_classes: int, mode, classes=None) -> np.ndarray | None:
    """Per-class loss weights ``(n_classes,)`` fitted on the training labels, or None.

    Parameters
    ----------
    y_train : (n_train,) int array
        The encoded labels (``0..n_classes-1``) of the rows the loss sees: one fold's
        training rows, never its test rows.
    n_classes : int
    mode : None, "balanced", dict or array of shape (n_classes,)
        None: no weights. ``"balanced"``: ``n_train / (n_classes * count_c)``
        (scikit-learn's formula), so each class present weighs as much in total. A dict
        maps labels (of ``classes``, default ``0..n_classes-1``) to weights, a label left
        out weighing 1 (as in scikit-learn); an array gives one weight per class.
    classes : array, optional
        The labels the dict keys name (the estimator's ``classes_``).

    Returns
    -------
    (n_classes,) float64 array or None

    Notes
    -----
    **A class with no training rows** (a fold that lacks a rare class) gets weight 1 under
    ``"balanced"``: the neutral weight, as for a label a dict leaves out. No training row
    carries it, so it does not change a weighted mean over samples; where a weight applies
    to a class's output for every row (sigmoid cross-entropy in ``bpnet``, label smoothing
    in ``resnet_fer``) that output is still trained, on the other classes' rows. Both
    branches use this function, so the treatment is the same in both.
    """
    if mode is None:
        return None
    if isinstance(mode, str):
        if mode != "balanced":
            raise ValueError(f"class_weight must be None, 'balanced', a dict or an array, "
                             f"got {mode!r}")
        y_train = np.asarray(y_train, dtype=np.int64)
        counts = np.bincount(y_train, minlength=n_classes)
        weights = np.ones(n_classes)
        np.divide(len(y_train), n_classes * counts, out=weights, where=counts > 0)
        return weights
    if isinstance(mode, dict):
        labels = (np.arange(n_classes) if classes is None else np.asarray(classes)).tolist()
        weights = np.array([mode.get(c, 1.0) for c in labels], dtype=np.float64)
        missing = [c for c in labels if c not in mode]
        extra = [k for k in mode if k not in set(labels)]
        # A label absent from this fit's data is fine (a fold without a rare class); one
        # that is no class while a class goes unweighted is likely misspelt.
        if missing and extra:
            raise ValueError(f"class_weight names {extra}, which are not classes, and leaves "
                             f"out {missing}; the classes are {labels}")
    else:
        weights = np.asarray(mode, dtype=np.float64)
        if weights.shape != (n_classes,):
            raise ValueError(f"class_weight must have one weight per class ({n_classes}), "
                             f"got shape {weights.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(f"class weights must be finite and non-negative, got {weights.tolist()}")
    return weights
