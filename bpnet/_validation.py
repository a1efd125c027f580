"""Input checks shared by the network, the estimator and the optimisers.

Each check raises a ``ValueError`` that names the argument and the problem, so a
user sees "X has 9 features, the network expects 10" rather than a broadcasting
error from deep inside a matrix product.
"""
from __future__ import annotations

import numpy as np


def check_X(X, n_inputs: int, n_models: int | None, dtype) -> np.ndarray:
    """Validate ``X`` of shape ``(n, n_inputs)`` or, for a stack, ``(K, n, n_inputs)``."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    allowed = (2,) if n_models is None else (2, 3)
    if X.ndim not in allowed:
        want = "(n_samples, n_inputs)" if n_models is None else \
            "(n_samples, n_inputs) or (n_models, n_samples, n_inputs)"
        raise ValueError(f"X must have shape {want}, got shape {X.shape}")
    if X.ndim == 3 and X.shape[0] != n_models:
        raise ValueError(f"X has {X.shape[0]} models on axis 0, the network stacks {n_models}")
    if X.shape[-2] == 0:
        raise ValueError("X is empty: it has 0 samples")
    if X.shape[-1] != n_inputs:
        raise ValueError(f"X has {X.shape[-1]} features, the network expects {n_inputs}")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0].tolist()
        raise ValueError(f"X contains NaN or inf (first at index {bad})")
    with np.errstate(over="ignore"):
        cast = X.astype(dtype, copy=False)
    if not np.all(np.isfinite(cast)):
        bad = np.argwhere(~np.isfinite(cast))[0].tolist()
        raise ValueError(f"X holds values beyond the range of {np.dtype(dtype).name} (first "
                         f"at index {bad}: {X[tuple(bad)]:.6g}); normalise or rescale the inputs, "
                         "or use dtype='float64'")
    return cast


def check_labels(y, name: str = "y", *, n_samples: int | None = None,
                 n_classes: int | None = None, n_models: int | None = None,
                 integer: bool = True) -> np.ndarray:
    """The one label check of bpnet: networks, metrics, splitters and the estimator use it.

    Parameters
    ----------
    y : array-like
        Labels of shape ``(n,)`` (or ``(K, n)`` when ``n_models`` is given).
    name : str
        What the messages call it (``"y"``, ``"y_true"``, ``"groups"``).
    n_samples : int, optional
        Required length.
    n_classes : int, optional
        With ``integer``: labels must lie in ``0..n_classes - 1``.
    n_models : int, optional
        Also accept one row of labels per model, ``(n_models, n)``.
    integer : bool
        True: class indices (ints, bools, or integer-valued floats), returned as ``intp``.
        False: any labels (strings, ints...) but no NaN, returned as they are.

    Raises
    ------
    ValueError
        Wrong shape, no labels, non-integer or out-of-range values, NaN.
    """
    y = np.asarray(y)
    if n_models is None:
        if y.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    elif y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[0] != n_models):
        raise ValueError(f"{name} must have shape (n,) or ({n_models}, n), got {y.shape}")
    if y.size == 0:
        raise ValueError(f"{name} is empty")
    if n_samples is not None and y.shape[-1] != n_samples:
        raise ValueError(f"{name} has {y.shape[-1]} labels for {n_samples} samples")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or inf")
    if not integer:
        if y.dtype.kind == "O" and len({type(v) for v in y.ravel()}) > 1:
            raise ValueError(f"{name} mixes label types "
                             f"({', '.join(sorted({type(v).__name__ for v in y.ravel()}))})")
        return y
    if y.dtype.kind == "f":
        if np.any(y != np.round(y)):
            raise ValueError(f"{name} must hold integer class labels, got non-integer values")
    elif y.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    y = y.astype(np.intp, copy=False)
    if y.min() < 0:
        raise ValueError(f"{name}: labels must be non-negative, got {y.min()}")
    if n_classes is not None and y.max() >= n_classes:
        raise ValueError(f"{name}: labels must lie in 0..{n_classes - 1}, got values from "
                         f"{y.min()} to {y.max()}")
    return y


def check_y(y, n_samples: int, n_classes: int, n_models: int | None) -> np.ndarray:
    """Integer labels ``0..n_classes-1`` for a network: :func:`check_labels`."""
    return check_labels(y, "y", n_samples=n_samples, n_classes=n_classes, n_models=n_models)


def check_sample_weight(sample_weight, n_samples: int, n_models: int | None):
    """Validate non-negative finite weights of shape ``(n,)`` (or ``(K, n)`` for a stack)."""
    if sample_weight is None:
        return None
    sw = np.asarray(sample_weight, dtype=np.float64)
    allowed = ((n_samples,),) if n_models is None else ((n_samples,), (n_models, n_samples))
    if sw.shape not in allowed:
        raise ValueError(
            f"sample_weight has shape {sw.shape}, expected {' or '.join(map(str, allowed))}"
        )
    if not np.all(np.isfinite(sw)) or np.any(sw < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    return sw
