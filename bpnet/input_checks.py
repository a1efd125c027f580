"""Input checks shared by the network, the estimator and the optimisers.

Each check raises a ``ValueError`` that names the argument and the problem, so a
user sees "X has 9 features, the network expects 10" rather than a broadcasting
error from deep inside a matrix product.

The estimator's checks (:func:`check_features`, :func:`check_class_labels`) follow
scikit-learn's conventions without importing it: where scikit-learn's own estimator
checks look for a phrase ("Reshape your data", "0 feature(s) (shape=(12, 0)) while a
minimum of 1 is required", "Complex data not supported", "continuous") the message
contains it, in a sentence of our own. :class:`NotFittedError` and
:class:`DataConversionWarning` become subclasses of scikit-learn's classes of the same
name when scikit-learn is in use (see :func:`sklearn_flavoured`).
"""
from __future__ import annotations

import functools
import sys
import warnings

import numpy as np


class NotFittedError(ValueError, AttributeError):
    """A method or attribute that needs a fitted estimator was used before ``fit``.

    A ``ValueError`` and an ``AttributeError``, as scikit-learn's ``NotFittedError``
    (so ``hasattr(clf, "coefs_")`` is False before ``fit``).
    """

    def __reduce__(self):  # rebuild through sklearn_flavoured in the receiving process
        return _rebuild, (type(self).__name__, self.args)


class DataConversionWarning(UserWarning):
    """The input was converted to the layout the estimator needs (a column ``y`` was flattened)."""

    def __reduce__(self):
        return _rebuild, (type(self).__name__, self.args)


def sklearn_flavoured(cls: type) -> type:
    """``cls``, or a subclass of both ``cls`` and scikit-learn's class of the same name.

    Code that catches ``sklearn.exceptions.NotFittedError`` (or filters its
    ``DataConversionWarning``) must have imported ``sklearn.exceptions``; so when that
    module is loaded the error raised is also scikit-learn's, and otherwise it is plain
    bpnet's. bpnet itself never imports scikit-learn.
    """
    sk = sys.modules.get("sklearn.exceptions")
    theirs = getattr(sk, cls.__name__, None) if sk is not None else None
    return cls if theirs is None else _bridge(cls, theirs)


@functools.cache
def _bridge(ours: type, theirs: type) -> type:
    return type(ours.__name__, (ours, theirs), {"__module__": ours.__module__,
                                                "__doc__": ours.__doc__})


def _rebuild(name: str, args: tuple):
    return sklearn_flavoured({"NotFittedError": NotFittedError,
                              "DataConversionWarning": DataConversionWarning}[name])(*args)


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


def _is_sparse(X) -> bool:
    # a scipy.sparse matrix or array exists only once scipy.sparse is imported
    sp = sys.modules.get("scipy.sparse")
    return sp is not None and sp.issparse(X)


def check_features(X, name: str = "X") -> np.ndarray:
    """An estimator's input: a dense, finite, 2-D numeric array with >= 1 sample and feature.

    Lists, memory maps and data frames become arrays; an object array of numbers becomes
    float64; booleans and integers are left to the network to cast.

    Raises
    ------
    TypeError
        A sparse matrix, or an object array holding things that are not numbers.
    ValueError
        Complex numbers or strings, not 2-D, no samples or no features, NaN or infinity.
    """
    if _is_sparse(X):
        raise TypeError(f"{name} is a sparse matrix ({type(X).__name__}); the BP network needs "
                        f"dense input: pass {name}.toarray()")
    X = np.asarray(X)
    if X.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}")
    if X.dtype.kind in "USV":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}: convert it to numbers first")
    if X.dtype.kind == "O":
        try:
            X = X.astype(np.float64)
        except TypeError as exc:  # numpy: "float() argument must be a string or a real number"
            raise TypeError(f"{name} must be numeric: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{name} must be numeric: {exc}") from None
    if X.ndim != 2:
        hint = (f". Reshape your data: {name}.reshape(-1, 1) if it is one feature, "
                f"{name}.reshape(1, -1) if it is one sample") if X.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}{hint}")
    for axis, what in ((0, "sample"), (1, "feature")):
        if X.shape[axis] == 0:
            raise ValueError(f"{name} has 0 {what}(s) (shape={X.shape}) while a minimum of 1 "
                             "is required.")
    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0].tolist()
        raise ValueError(f"{name} contains NaN or inf (first at index {bad})")
    return X


def check_class_labels(y, n_samples: int, estimator: str = "BPClassifier") -> np.ndarray:
    """Class labels for a classifier: ``(n_samples,)``, no NaN, not continuous.

    A column vector ``(n, 1)`` is flattened with a :class:`DataConversionWarning`, as
    scikit-learn does; labels are any ints, strings or integer-valued floats.
    """
    if y is None:
        raise ValueError(f"{estimator} requires y to be passed, but the target y is None")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected; it was "
                      "flattened. Pass y of shape (n_samples,), e.g. y.ravel()",
                      sklearn_flavoured(DataConversionWarning), stacklevel=3)
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, one class label per sample; got shape {y.shape} "
                         f"({estimator} predicts one label per sample, not several)")
    if y.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: y has dtype {y.dtype}")
    if len(y) != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {len(y)}")
    if y.dtype.kind == "O" and y.size and all(isinstance(v, (float, np.floating)) for v in y):
        y = y.astype(np.float64)  # floats in an object array: checked as floats below
    y = check_labels(y, integer=False)
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        example = y[y != np.round(y)][0]
        raise ValueError(f"y holds continuous values (e.g. {example:g}); {estimator} needs class "
                         "labels: ints, strings or integer-valued floats")
    return y


def available_memory() -> int | None:
    """Bytes of memory the system can still give (``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(nbytes: float, what: str) -> None:
    """Refuse, with a clear message, work whose arrays would not fit in memory."""
    free = available_memory()
    if free is not None and nbytes > free:
        raise MemoryError(f"{what} needs about {nbytes / 2**30:.1f} GiB of memory, "
                          f"{free / 2**30:.1f} GiB are available")
