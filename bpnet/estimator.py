"""``BPClassifier``: the BP network behind scikit-learn's estimator conventions.

``__init__`` only stores its arguments; ``fit`` turns ``random_state`` into one
``np.random.Generator`` and learns state whose names end in ``_``. It needs no
scikit-learn import, yet works inside ``sklearn.model_selection`` tools
(``clone``, ``cross_val_score``) because it has ``get_params``/``set_params``.

The classifier's arguments are also *the* definition of a network and its training:
:data:`TRAINING_PARAMS` names them, and :func:`bpnet.cross_validate` takes the same
names with the same defaults (:func:`training_settings`), so a setting found with one
means the same with the other. Fitting runs the one training loop,
:func:`bpnet.training.train`.
"""
from __future__ import annotations

import inspect

import numpy as np

from . import io
from ._validation import check_labels, check_sample_weight, check_X
from .network import BPNetwork
from .optim import Optimizer, TrainingError, make_optimizer
from .training import predict_outputs, train

__all__ = ["BPClassifier", "TRAINING_PARAMS", "TrainingError", "build_network", "build_optimizer",
           "training_settings"]

#: BPClassifier's arguments that define the network and how it is trained
TRAINING_PARAMS = ("n_hidden", "hidden", "output", "loss", "optimizer", "lr", "epochs",
                   "batch_size", "weight_decay", "momentum", "class_weight", "init", "dtype")


class BPClassifier:
    """One-hidden-layer BP network classifier (the paper's defaults).

    Parameters
    ----------
    n_hidden : int
        Hidden units.
    hidden, output, loss, init : str
        See :class:`~bpnet.BPNetwork`. The paper: sigmoid hidden and output, MSE.
    optimizer : {"adam", "adamw", "sgd"}
        Update rule (``torch.optim`` semantics; see :mod:`bpnet.optim`).
    lr : float
        Learning rate.
    epochs : int
        Passes over the training set.
    batch_size : int or None
        Mini-batch size; None (default) is full-batch training, as in the paper.
    weight_decay, momentum : float
        Passed to the optimiser (``momentum`` only for ``"sgd"``).
    class_weight : None, "balanced" or array of shape (n_classes,)
        Class weights for ``loss="cross_entropy"``; "balanced" uses
        ``n_samples / (n_classes * count_c)``.
    dtype : {"float64", "float32"}
    random_state : int, np.random.Generator or None
        Seeds the initialisation and the mini-batch order.
    verbose : bool
        Show a progress bar over epochs.

    Attributes
    ----------
    classes_ : (n_classes,) array
        The labels seen in ``fit``; outputs are in this order.
    n_features_in_ : int
    net_ : BPNetwork
        The trained network.
    history_ : dict of lists
        Per epoch: ``loss`` and ``accuracy`` on the training set and, when
        ``validation_data`` is given, ``val_loss`` and ``val_accuracy``.
    coefs_, intercepts_ : list of arrays
        ``[W1, W2]`` and ``[b1, b2]`` (scikit-learn's names for the same arrays).
    """

    def __init__(self, n_hidden: int = 16, *, hidden: str = "sigmoid", output: str = "sigmoid",
                 loss: str = "mse", optimizer: str = "adam", lr: float = 0.01,
                 epochs: int = 300, batch_size: int | None = None, weight_decay: float = 0.0,
                 momentum: float = 0.9, class_weight=None, init: str = "torch",
                 dtype: str = "float64", random_state=None, verbose: bool = False):
        self.n_hidden = n_hidden
        self.hidden = hidden
        self.output = output
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.class_weight = class_weight
        self.init = init
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # --- scikit-learn protocol -------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """Constructor arguments as a dict (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "BPClassifier":
        """Set constructor arguments (scikit-learn protocol); returns self."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for BPClassifier; "
                                 f"valid: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    # scikit-learn >= 1.6 asks every estimator for its tags. This method runs only when
    # scikit-learn calls it, so the import below never makes scikit-learn a dependency.
    _estimator_type = "classifier"  # scikit-learn < 1.6

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags())

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not (isinstance(v, (str, int, float, type(None), bool))
                           and v == defaults[k].default)]
        return f"BPClassifier({', '.join(changed)})"

    # --- fitting ---------------------------------------------------------------
    def _encode(self, y) -> np.ndarray:
        """Labels -> their indices in ``classes_`` (ValueError for a label not seen in fit)."""
        y = check_labels(y, integer=False)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        if np.any(self.classes_[idx] != y):
            unknown = np.unique(y[self.classes_[idx] != y])[:5]
            raise ValueError(f"y contains labels not seen in fit: {unknown.tolist()}")
        return idx

    def fit(self, X, y, *, validation_data=None, sample_weight=None) -> "BPClassifier":
        """Train on ``X`` (n, n_features) and labels ``y`` (n,).

        Parameters
        ----------
        validation_data : (X_val, y_val), optional
            Measured after every epoch into ``history_`` (the rows join the training
            pass with weight 0, so they cost no extra forward pass in full-batch training).
        sample_weight : (n,), optional
            Per-sample weights of the loss.

        Raises
        ------
        ValueError
            Bad shapes, NaN/inf, empty data, fewer than two classes.
        TrainingError
            The loss became NaN or inf; the message names the epoch.
        """
        y = np.asarray(y)
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n_samples, n_features), got shape {X.shape}")
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        if len(y) == 0:
            raise ValueError("cannot fit on empty data (0 samples)")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"need at least two classes to fit, got {self.classes_.tolist()}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        y_enc = self._encode(y)
        settings = training_settings({k: getattr(self, k) for k in TRAINING_PARAMS})
        rng = np.random.default_rng(self.random_state)
        cw = resolve_class_weight(self.class_weight, y_enc, len(self.classes_))
        self.net_ = build_network(settings, X.shape[1], len(self.classes_), cw, rng)
        X = check_X(X, self.net_.n_inputs, None, self.net_.dtype)
        self.n_features_in_ = X.shape[1]
        weights = check_sample_weight(sample_weight, len(y), None)
        weights = np.ones(len(y)) if weights is None else weights
        monitor = None
        if validation_data is not None:
            Xv, yv = validation_data
            Xv = check_X(Xv, self.n_features_in_, None, self.net_.dtype)
            X, y_enc = np.concatenate([X, Xv]), np.concatenate([y_enc, self._encode(yv)])
            monitor = {"val": np.r_[np.zeros(len(weights)), np.ones(len(Xv))]}
            weights = np.r_[weights, np.zeros(len(Xv))]
        opt = build_optimizer(settings, self.net_.params)
        log = train(self.net_, X, y_enc, opt, self.epochs, sample_weight=weights, monitor=monitor,
                    batch_size=self.batch_size, rng=rng, progress=self.verbose,
                    desc="BPClassifier.fit")
        self.history_ = {"loss": log.curves["train_loss"].tolist(),
                         "accuracy": log.curves["train_accuracy"].tolist()}
        if monitor is not None:
            self.history_.update(val_loss=log.curves["val_loss"].tolist(),
                                 val_accuracy=log.curves["val_accuracy"].tolist())
        return self

    # --- prediction ------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise ValueError("this BPClassifier is not fitted yet: call fit(X, y) first")

    def decision_function(self, X) -> np.ndarray:
        """Raw network outputs, (n, n_classes)."""
        self._check_fitted()
        return predict_outputs(self.net_, X)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, (n, n_classes), rows summing to one.

        Softmax outputs are returned as they are. Sigmoid outputs (the paper's
        network, trained with MSE against one-hot targets) are not a
        distribution; they are divided by their row sum. Identity outputs are
        clipped at zero first; an all-zero row becomes uniform.
        """
        out = self.decision_function(X)
        if self.net_.output == "softmax":
            return out
        out = np.maximum(out, 0.0)
        total = out.sum(axis=1, keepdims=True)
        uniform = np.full_like(out, 1.0 / out.shape[1])
        return np.where(total > 0, out / np.where(total > 0, total, 1.0), uniform)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (from ``classes_``), (n,)."""
        self._check_fitted()
        return self.classes_[self.decision_function(X).argmax(axis=1)]

    def score(self, X, y) -> float:
        """Accuracy on ``(X, y)``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    @property
    def coefs_(self) -> list:
        self._check_fitted()
        return [self.net_.params["W1"], self.net_.params["W2"]]

    @property
    def intercepts_(self) -> list:
        self._check_fitted()
        return [self.net_.params["b1"], self.net_.params["b2"]]

    # --- persistence -----------------------------------------------------------
    def save(self, path):
        """Save the fitted classifier to ``path`` (.npz + JSON metadata, no pickle)."""
        return io.save(self, path)

    @classmethod
    def load(cls, path) -> "BPClassifier":
        """Load a classifier saved with :meth:`save`."""
        return io.load(path, expect=cls)

    def _to_arrays(self) -> tuple[dict, dict]:
        self._check_fitted()
        params = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                  for k, v in self.get_params().items()}
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None  # a Generator is not serialisable; it was used up
        net_meta, arrays = io.network_to_arrays(self.net_)
        arrays["classes_"] = self.classes_
        meta = {"params": params, "history": self.history_,
                "n_features_in": self.n_features_in_, **net_meta}
        return meta, arrays

    @classmethod
    def _from_arrays(cls, meta: dict, arrays: dict) -> "BPClassifier":
        try:
            clf = cls(**meta["params"])
            clf.classes_ = arrays.pop("classes_")
            clf.history_ = meta["history"]
            clf.n_features_in_ = int(meta["n_features_in"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"model file is incomplete or inconsistent: {exc}") from exc
        clf.net_ = io.network_from_arrays(meta, arrays)
        return clf


io.register_kind("BPClassifier", BPClassifier, BPClassifier._to_arrays, BPClassifier._from_arrays)


def training_settings(overrides: dict, **defaults) -> dict:
    """BPClassifier's defaults for every name in :data:`TRAINING_PARAMS`, then ``defaults``,
    then ``overrides``; an unknown name is a ValueError listing the valid ones."""
    unknown = sorted(set(overrides) - set(TRAINING_PARAMS))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; valid: {', '.join(TRAINING_PARAMS)}")
    sig = inspect.signature(BPClassifier.__init__).parameters
    return {**{k: sig[k].default for k in TRAINING_PARAMS}, **defaults, **overrides}


def resolve_class_weight(class_weight, y_enc: np.ndarray, n_classes: int):
    """``None``, ``"balanced"`` (``n_samples / (n_classes * count_c)``) or per-class numbers."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be None, 'balanced' or an array, got {class_weight!r}")
        counts = np.bincount(y_enc, minlength=n_classes)
        return len(y_enc) / (n_classes * np.maximum(counts, 1))
    return np.asarray(class_weight, dtype=np.float64)


def build_network(settings: dict, n_inputs: int, n_classes: int, class_weight, rng,
                  n_models: int | None = None) -> BPNetwork:
    """The network that ``settings`` (see :func:`training_settings`) describe."""
    return BPNetwork(n_inputs, settings["n_hidden"], n_classes, hidden=settings["hidden"],
                     output=settings["output"], loss=settings["loss"], class_weight=class_weight,
                     init=settings["init"], dtype=np.dtype(settings["dtype"]), seed=rng,
                     n_models=n_models)


def build_optimizer(settings: dict, params: dict) -> Optimizer:
    """The optimiser that ``settings`` describe, on ``params`` (``momentum`` applies to SGD)."""
    kwargs = {"lr": settings["lr"], "weight_decay": settings["weight_decay"]}
    if str(settings["optimizer"]).lower() == "sgd":
        kwargs["momentum"] = settings["momentum"]
    return make_optimizer(settings["optimizer"], params, **kwargs)
