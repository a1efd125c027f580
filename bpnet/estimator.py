"""``BPClassifier``: the BP network behind scikit-learn's estimator conventions.

``__init__`` only stores its arguments; ``fit`` turns ``random_state`` into one
``np.random.Generator`` and learns state whose names end in ``_``. It needs no
scikit-learn import, yet works inside ``sklearn.model_selection`` tools
(``clone``, ``cross_val_score``) because it has ``get_params``/``set_params``.
"""
from __future__ import annotations

import inspect

import numpy as np
from tqdm.auto import tqdm

from . import io
from ._validation import check_X
from .network import BPNetwork
from .optim import make_optimizer


class TrainingError(ValueError):
    """Training produced a non-finite loss; the message names the epoch."""


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
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {y.shape}")
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        if np.any(self.classes_[idx] != y):
            unknown = np.unique(y[self.classes_[idx] != y])[:5]
            raise ValueError(f"y contains labels not seen in fit: {unknown.tolist()}")
        return idx

    def _class_weights(self, y_enc: np.ndarray):
        cw = self.class_weight
        if cw is None:
            return None
        n_classes = len(self.classes_)
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"class_weight must be None, 'balanced' or an array, got {cw!r}")
            counts = np.bincount(y_enc, minlength=n_classes)
            return len(y_enc) / (n_classes * np.maximum(counts, 1))
        return np.asarray(cw, dtype=np.float64)

    def fit(self, X, y, *, validation_data=None, sample_weight=None) -> "BPClassifier":
        """Train on ``X`` (n, n_features) and labels ``y`` (n,).

        Parameters
        ----------
        validation_data : (X_val, y_val), optional
            Evaluated after every epoch into ``history_``.
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
        rng = np.random.default_rng(self.random_state)
        self.net_ = BPNetwork(X.shape[1], self.n_hidden, len(self.classes_), hidden=self.hidden,
                              output=self.output, loss=self.loss,
                              class_weight=self._class_weights(y_enc), init=self.init,
                              dtype=np.dtype(self.dtype), seed=rng)
        X = check_X(X, self.net_.n_inputs, None, self.net_.dtype)
        self.n_features_in_ = X.shape[1]
        val = None
        if validation_data is not None:
            Xv, yv = validation_data
            val = (check_X(Xv, self.n_features_in_, None, self.net_.dtype), self._encode(yv))
        kwargs = {"lr": self.lr, "weight_decay": self.weight_decay}
        if self.optimizer.lower() == "sgd":
            kwargs["momentum"] = self.momentum
        opt = make_optimizer(self.optimizer, self.net_.params, **kwargs)
        self.history_ = {"loss": [], "accuracy": []}
        if val is not None:
            self.history_.update(val_loss=[], val_accuracy=[])
        n = len(X)
        batch = n if self.batch_size is None else int(self.batch_size)
        if batch < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        epochs = tqdm(range(1, self.epochs + 1), desc="BPClassifier.fit", unit="epoch",
                      disable=not self.verbose, leave=False)
        for epoch in epochs:
            order = rng.permutation(n) if batch < n else None
            for start in range(0, n, batch):
                idx = slice(None) if order is None else order[start:start + batch]
                sw = None if sample_weight is None else np.asarray(sample_weight)[idx]
                loss, grads = self.net_.loss_and_grads(X[idx], y_enc[idx], sample_weight=sw)
                if not np.isfinite(loss):
                    raise TrainingError(f"loss became {loss} at epoch {epoch} of {self.epochs}; "
                                        "try a smaller lr or normalised inputs")
                opt.step(grads)
            self._record(X, y_enc, sample_weight, val)
            if self.verbose:
                epochs.set_postfix(loss=f"{self.history_['loss'][-1]:.4f}")
        return self

    def _record(self, X, y_enc, sample_weight, val) -> None:
        sets = [("", X, y_enc, sample_weight)]
        if val is not None:
            sets.append(("val_", val[0], val[1], None))
        for prefix, Xs, ys, sw in sets:
            loss = self.net_.loss_value(Xs, ys, sample_weight=sw)
            if not np.isfinite(loss):
                raise TrainingError(f"{prefix}loss became {loss} at epoch "
                                    f"{len(self.history_['loss']) + 1}")
            self.history_[prefix + "loss"].append(loss)
            self.history_[prefix + "accuracy"].append(float(np.mean(self.net_.predict(Xs) == ys)))

    # --- prediction ------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise ValueError("this BPClassifier is not fitted yet: call fit(X, y) first")

    def decision_function(self, X) -> np.ndarray:
        """Raw network outputs, (n, n_classes)."""
        self._check_fitted()
        return self.net_.forward(X)

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
