"""What a training run is, in one place: class weights from training rows.

Every layer that trains a network needs the same few definitions, so they live here, below
the training loop's callers and above nothing but the core: :func:`class_weights` is the
one formula of ``class_weight`` for :class:`~bpnet.BPClassifier`,
:func:`bpnet.cross_validate`, model selection and ``resnet_fer``.

Class weights are a statistic fitted on data, so they are fitted on the training rows of
a fold only: :func:`class_weights` takes ``y_train``, never the whole label vector.
"""
from __future__ import annotations

import numpy as np

__all__ = ["class_weights"]


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
