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
    X = X.astype(dtype, copy=False)
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0].tolist()
        raise ValueError(f"X contains NaN or inf (first at index {bad})")
    return X


def check_y(y, n_samples: int, n_classes: int, n_models: int | None) -> np.ndarray:
    """Validate integer labels ``0..n_classes-1`` of shape ``(n,)`` (or ``(K, n)`` for a stack)."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError("y must hold integer class labels, got non-integer values")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iub":
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    allowed = ((n_samples,),) if n_models is None else ((n_samples,), (n_models, n_samples))
    if y.shape not in allowed:
        raise ValueError(f"y has shape {y.shape}, expected {' or '.join(map(str, allowed))}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"labels must lie in 0..{n_classes - 1}, got values from {y.min()} to {y.max()}"
        )
    return y.astype(np.intp, copy=False)


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
