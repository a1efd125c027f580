"""The pieces of :class:`~bpnet.BPClassifier` that are plain functions.

The settings of a fit, the rows held out for early stopping, the history
kept across warm fits and ``partial_fit`` calls, the ``verbose`` lines, and the file form
of a fitted classifier. :mod:`bpnet.estimator` holds the estimator protocol and calls
these.
"""
from __future__ import annotations

import numpy as np

from . import io
from .input_checks import check_labels, check_sample_weight
from .json_values import to_json_value
from .network import BPNetwork
from .splits import stratified_holdout

#: a curve of :func:`bpnet.training.train` (``<set>_<metric>``) -> its key in ``history_``
_HISTORY_PREFIX = {"train": "", "val": "val_", "holdout": "holdout_"}


def encode_labels(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Labels -> their indices in ``classes`` (ValueError for a label not among them)."""
    y = check_labels(y, integer=False)
    idx = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    if np.any(classes[idx] != y):
        unknown = np.unique(y[classes[idx] != y])[:5]
        raise ValueError(f"y contains labels not seen in fit: {unknown.tolist()} "
                         f"(classes_: {classes.tolist()})")
    return idx


def loss_weights(sample_weight, y_enc: np.ndarray, cw, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """(weights of the loss, the sample weights). With ``mse`` the class weights multiply
    the sample weights; cross-entropy networks weigh classes themselves."""
    sw = check_sample_weight(sample_weight, len(y_enc), None)
    sw = np.ones(len(y_enc)) if sw is None else sw
    if not np.any(sw > 0):
        raise ValueError("sample_weight is zero for every sample: there is nothing to train on")
    if cw is None or loss == "cross_entropy":
        return sw, sw
    return sw * cw[y_enc], sw


def check_fit_settings(epochs, early_stopping, validation_fraction, n_iter_no_change,
                       tol) -> None:
    """The arguments of a fit that the network and optimiser do not check themselves."""
    if isinstance(epochs, bool) or int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not early_stopping:
        return
    if not (isinstance(validation_fraction, (float, np.floating)) and 0 < validation_fraction < 1):
        raise ValueError(f"validation_fraction must be a number in (0, 1), "
                         f"got {validation_fraction!r}")
    if (isinstance(n_iter_no_change, bool) or int(n_iter_no_change) != n_iter_no_change
            or n_iter_no_change < 1):
        raise ValueError(f"n_iter_no_change must be a positive integer, got {n_iter_no_change!r}")
    if not tol >= 0:
        raise ValueError(f"tol must be non-negative, got {tol!r}")


def changed_network(net: BPNetwork, settings: dict) -> list[str]:
    """Settings that no longer describe ``net`` (a warm fit must train the same shape)."""
    built = {"n_hidden": net.n_hidden, "hidden": net.hidden, "output": net.output,
             "loss": net.loss, "dtype": net.dtype}
    return [f"{k} ({built[k]!r} -> {settings[k]!r})" for k in built
            if (np.dtype(settings[k]) if k == "dtype" else settings[k]) != built[k]]


def hold_out(y_enc: np.ndarray, sample_weight: np.ndarray, fraction: float,
             rng: np.random.Generator) -> np.ndarray:
    """Mask of the rows held out for early stopping: a stratified ``fraction`` of them."""
    n, n_val = len(y_enc), int(np.ceil(fraction * len(y_enc)))
    if n_val < 2 or n_val > n - 1:
        raise ValueError(f"early stopping: validation_fraction={fraction} of {n} samples holds "
                         f"out {n_val}; it needs at least 2 and must leave some to train on")
    held = np.zeros(n, dtype=bool)
    held[stratified_holdout(y_enc, fraction, seed=rng)[1]] = True
    if not np.any(sample_weight[held] > 0):
        raise ValueError("early stopping: every held-out sample has sample weight zero; "
                         "use another random_state or validation_fraction")
    return held


def extend_history(history: dict, curves: dict) -> None:
    """Append the curves of one :func:`~bpnet.training.train` call to ``history`` in place;
    a set measured in only some calls gets NaN for the epochs of the others."""
    new = {}
    for name, values in curves.items():
        part, metric = name.rsplit("_", 1)
        new[_HISTORY_PREFIX[part] + metric] = values.tolist()
    done, added = len(history.get("loss", [])), len(new["loss"])
    for key in list(history) + [k for k in new if k not in history]:
        history[key] = (history.get(key, [float("nan")] * done)
                        + new.get(key, [float("nan")] * added))


def epoch_line(epoch: int, values: dict) -> str:
    """One ``verbose=2`` line, after ``MLPClassifier``'s "Iteration k, loss = ..."."""
    line = (f"Epoch {epoch}, loss = {values['train_loss']:.8f}, "
            f"accuracy = {values['train_accuracy']:.4f}")
    if "val_accuracy" in values:
        line += f", val_accuracy = {values['val_accuracy']:.4f}"
    if "holdout_accuracy" in values:
        line += f", validation score = {values['holdout_accuracy']:.4f}"
    return line


def summary_line(log, history: dict, best_score: float | None, tol: float, patience: int) -> str:
    """The line ``verbose`` prints at the end of a fit (``best_score``: with early stopping)."""
    text = (f"BPClassifier: {log.epochs_run} epochs, training loss {history['loss'][-1]:.6g}, "
            f"accuracy {history['accuracy'][-1]:.4f}")
    if best_score is not None:
        how = (f"stopped: no gain above tol={tol:g} for {patience} epochs"
               if log.stopped_epoch else "did not stop early")
        text += f"; {how}; kept epoch {log.best_epoch} (held-out accuracy {best_score:.4f})"
    return text


def in_float64(net: BPNetwork) -> BPNetwork:
    """``net`` with float64 parameters. Scores of a float32 network are computed in
    float64, so they do not depend on how many rows are predicted at once (BLAS picks its
    kernel by shape, and float32 roundings differ between kernels)."""
    if net.dtype == np.float64:
        return net
    new = net.copy()
    new.params = {k: v.astype(np.float64) for k, v in net.params.items()}
    new.dtype = np.dtype(np.float64)
    return new


def to_arrays(clf) -> tuple[dict, dict]:
    """A fitted classifier as JSON metadata and arrays, for :func:`bpnet.save` (no pickle).

    The optimiser state is not saved: training after loading starts a new optimiser.
    """
    clf._check_fitted()
    params = to_json_value(clf.get_params(), finite=False)
    if isinstance(params["class_weight"], dict):  # JSON object keys would all become strings
        params["class_weight"] = {"items": [[k, float(v)]
                                            for k, v in params["class_weight"].items()]}
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None  # a Generator is not serialisable; it was used up
    net_meta, arrays = io.network_to_arrays(clf.net_)
    arrays["classes_"] = clf.classes_
    meta = {"params": params, "history": clf.history_, "n_features_in": clf.n_features_in_,
            "n_iter": clf.n_iter_, "best_validation_score": clf.best_validation_score_,
            **net_meta}
    return meta, arrays


def from_arrays(cls: type, meta: dict, arrays: dict):
    """The classifier of class ``cls`` that :func:`to_arrays` described."""
    try:
        params = dict(meta["params"])
        if isinstance(params.get("class_weight"), dict):
            params["class_weight"] = {k: v for k, v in params["class_weight"]["items"]}
        clf = cls(**params)
        clf.classes_ = arrays.pop("classes_")
        clf.history_ = meta["history"]
        clf.n_features_in_ = int(meta["n_features_in"])
        clf.n_iter_ = int(meta.get("n_iter", len(clf.history_.get("loss", []))))
        clf.best_validation_score_ = meta.get("best_validation_score")
    except (KeyError, TypeError) as exc:
        raise ValueError(f"model file is incomplete or inconsistent: {exc}") from exc
    clf.net_ = io.network_from_arrays(meta, arrays)
    classes = np.asarray(clf.classes_)
    if classes.ndim != 1 or len(classes) != clf.net_.n_outputs or len(np.unique(classes)) != len(classes):
        raise ValueError(f"model file is inconsistent: {classes.size} classes_ for a network of "
                         f"{clf.net_.n_outputs} outputs (classes_ must be distinct, one per output)")
    if clf.n_features_in_ != clf.net_.n_inputs:
        raise ValueError(f"model file is inconsistent: n_features_in {clf.n_features_in_} for a "
                         f"network of {clf.net_.n_inputs} inputs")
    clf._rng = np.random.default_rng(clf.random_state)
    clf._optimizer = clf._optimizer_key = None
    return clf

