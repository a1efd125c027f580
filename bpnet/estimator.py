"""``BPClassifier``: the BP network behind scikit-learn's estimator conventions.

``__init__`` only stores its arguments; ``fit`` turns ``random_state`` into one
``np.random.Generator`` and learns state whose names end in ``_``. It needs no
scikit-learn import, yet passes scikit-learn's own estimator checks and works inside
its tools (pipelines, ``GridSearchCV``, ``cross_val_predict``, calibration; see the
docs page "Using BPClassifier with scikit-learn").

The classifier's arguments that define a network and its training are the fields of
:class:`bpnet.settings.Settings` (:data:`TRAINING_PARAMS`), the one description that
:func:`bpnet.cross_validate` and model selection use too, with the same defaults, so a
setting found with one means the same with the other. The arguments in :data:`FIT_PARAMS` only say how one
call to ``fit`` proceeds (early stopping, warm start). Fitting runs the one training
loop, :func:`bpnet.training.train`. What the outputs mean as scores and probabilities
is ``bpnet.class_scores``; the plain functions of fitting (class weights, held-out rows,
history, the file form) are ``bpnet._fitting``.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from . import io
from ._fitting import (
    changed_network,
    check_fit_settings,
    encode_labels,
    epoch_line,
    extend_history,
    from_arrays,
    hold_out,
    in_float64,
    loss_weights,
    summary_line,
    to_arrays,
)
from .class_scores import decision_scores, log_probabilities, probabilities
from .input_checks import (
    NotFittedError,
    check_class_labels,
    check_features,
    check_labels,
    sklearn_flavoured,
)
from .optim import Optimizer, TrainingError
from .settings import PARAMS, Settings, class_weights
from .training import Curves, EarlyStopping, OnEpoch, Progress, Rows, predict_outputs, train

__all__ = ["BPClassifier", "FIT_PARAMS", "NotFittedError", "TRAINING_PARAMS", "TrainingError"]

#: BPClassifier's arguments that define the network and how it is trained, which are the
#: fields of :class:`bpnet.settings.Settings`
TRAINING_PARAMS = PARAMS
#: BPClassifier's arguments that say how a call to ``fit`` proceeds (not part of the network)
FIT_PARAMS = ("early_stopping", "validation_fraction", "n_iter_no_change", "tol", "warm_start")
_OPTIMIZER_PARAMS = ("optimizer", "lr", "weight_decay", "momentum")


class BPClassifier:
    r"""One-hidden-layer BP network classifier (the paper's defaults).

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
        Passes over the training set (``max_iter`` of ``MLPClassifier``). Without early
        stopping every one is trained: there is no stopping on the training loss.
    batch_size : int or None
        Mini-batch size; None (default) is full-batch training, as in the paper.
    weight_decay, momentum : float
        Passed to the optimiser (``momentum`` only for ``"sgd"``).
    class_weight : None, "balanced", dict or array of shape (n_classes,)
        Weight of each class's samples in the loss: a dict maps labels to weights (labels
        left out weigh 1), an array follows ``classes_``, and "balanced" uses
        ``n_samples / (n_classes * count_c)``. With ``loss="mse"`` the weights multiply
        the sample weights (scikit-learn's meaning); with cross-entropy they are
        PyTorch's ``weight`` (see :class:`~bpnet.BPNetwork`).
    dtype : {"float64", "float32"}
    input_noise : float
        Standard deviation of Gaussian noise added to every input feature of the rows a
        training step sees, drawn afresh each step (a regulariser; 0, the default, trains
        on the inputs as they are). Scores and curves use the clean inputs.
    early_stopping : bool
        Hold out a stratified ``validation_fraction`` of the training rows, score the
        network on them (accuracy) after every epoch, stop once the score has not
        improved by more than ``tol`` for ``n_iter_no_change`` epochs in a row, and end
        with the weights of the best epoch. The held-out rows stay in the training
        array with weight 0, so in full-batch training scoring them costs nothing extra.
    validation_fraction : float in (0, 1)
        Share of the rows held out for early stopping (at least 2 rows).
    n_iter_no_change : int
        Patience of early stopping, in epochs.
    tol : float
        Smallest gain in held-out accuracy that counts as an improvement.
    warm_start : bool
        ``fit`` continues from the fitted network and its optimiser state (two warm
        full-batch fits of ``e`` epochs equal one fit of ``2e``) instead of starting
        afresh. The network's shape (``n_hidden``, ``hidden``, ``output``, ``loss``,
        ``dtype``) and the features must not change; a new optimiser is built only if
        ``optimizer``, ``lr``, ``weight_decay`` or ``momentum`` changed.
    random_state : int, np.random.Generator or None
        Seeds the initialisation, the held-out rows and the mini-batch order.
    verbose : bool or int
        0: silent. 1: a progress bar over epochs and a summary line at the end.
        2: a line per epoch (loss, accuracy, held-out score) instead of the bar.

    Attributes
    ----------
    classes_ : (n_classes,) array
        The labels seen in ``fit`` (or given to the first ``partial_fit``); outputs,
        scores and probabilities are in this order.
    n_features_in_ : int
    net_ : BPNetwork
        The trained network.
    n_iter_ : int
        Epochs trained by the last call to ``fit`` (1 after ``partial_fit``).
    history_ : dict of lists
        Per epoch since the network was initialised (warm fits and ``partial_fit``
        calls append): ``loss`` and ``accuracy`` on the training rows, ``val_loss`` and
        ``val_accuracy`` on ``validation_data``, ``holdout_loss`` and
        ``holdout_accuracy`` on the rows held out for early stopping; NaN for epochs
        where a set was not measured.
    loss_curve_ : list of float
        ``history_["loss"]``: the training loss after every epoch.
    validation_scores_ : list of float or None
        ``history_["holdout_accuracy"]``: the early-stopping score after every epoch;
        None when early stopping was never used since the network was initialised.
    best_validation_score_ : float or None
        With early stopping: the held-out accuracy of the epoch the last ``fit`` kept.
    coefs_, intercepts_ : list of arrays
        ``[W1, W2]`` and ``[b1, b2]`` (scikit-learn's names for the same arrays).

    Notes
    -----
    Scores and probabilities. :meth:`decision_function` returns one score per class,
    :math:`s`, and :meth:`predict` the class with the largest. For ``output="softmax"``
    :math:`s` are the logits and :meth:`predict_proba` their softmax (the network's
    outputs). For ``output="sigmoid"`` (the paper) each output estimates the
    probability of its class, :math:`s = \log \sigma(z)`, and the probabilities are the
    outputs divided by their sum, which is again :math:`\mathrm{softmax}(s)`. For
    ``output="identity"`` :math:`s` are the outputs, and the probabilities are the
    distribution nearest to them in the squared error the network was trained with
    (the Euclidean projection onto the probability simplex). ``predict_log_proba`` is
    their logarithm (``log_softmax(s)``, which does not underflow). With two classes
    :meth:`decision_function` returns :math:`s_1 - s_0`, positive for ``classes_[1]``:
    for sigmoid and softmax outputs it is the log-odds of ``predict_proba[:, 1]``,
    and for identity outputs ``predict_proba[:, 1] = clip((1 + d) / 2, 0, 1)``, so
    scores and probabilities always rank samples alike. A float32 network is evaluated in
    float64 here, so predictions do not depend on how many rows are predicted at once.

    Compared with ``MLPClassifier``: ``epochs`` is ``max_iter``; without early
    stopping all epochs are trained (no ``ConvergenceWarning``); ``warm_start`` keeps
    the optimiser state; the Adam update is PyTorch's.
    """

    def __init__(self, n_hidden: int = 16, *, hidden: str = "sigmoid", output: str = "sigmoid",
                 loss: str = "mse", optimizer: str = "adam", lr: float = 0.01,
                 epochs: int = 300, batch_size: int | None = None, weight_decay: float = 0.0,
                 momentum: float = 0.9, class_weight=None, init: str = "torch",
                 dtype: str = "float64", input_noise: float = 0.0,
                 early_stopping: bool = False,
                 validation_fraction: float = 0.1, n_iter_no_change: int = 10,
                 tol: float = 1e-4, warm_start: bool = False, random_state=None,
                 verbose: bool | int = False):
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
        self.input_noise = input_noise
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
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

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "net_")

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not (isinstance(v, (str, int, float, type(None), bool))
                           and v == defaults[k].default)]
        return f"BPClassifier({', '.join(changed)})"

    # --- fitting ---------------------------------------------------------------
    def fit(self, X, y, *, validation_data=None, sample_weight=None) -> "BPClassifier":
        """Train on ``X`` (n, n_features) and labels ``y`` (n,) for ``epochs`` epochs.

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
            Bad shapes, NaN/inf, empty data, fewer than two classes, bad settings.
        TrainingError
            The loss became NaN or inf; the message names the epoch.
        """
        X = check_features(X)
        y = check_class_labels(y, len(X))
        check_fit_settings(self.epochs, self.early_stopping, self.validation_fraction,
                           self.n_iter_no_change, self.tol)
        if validation_data is not None:
            Xv, yv = validation_data
            Xv = check_features(Xv, "X_val")
            yv = check_class_labels(yv, len(Xv))
            if Xv.shape[1] != X.shape[1]:
                raise ValueError(f"X_val has {Xv.shape[1]} features, X has {X.shape[1]}")
        warm = bool(self.warm_start) and self.__sklearn_is_fitted__()
        if warm:
            self._check_n_features(X)
            self._check_same_network()
            classes = self.classes_
        else:
            classes = np.unique(y)
            if len(classes) < 2:
                raise ValueError(f"need samples of at least two classes to fit, got 1 class: "
                                 f"{classes.tolist()}")
        y_enc = encode_labels(y, classes)
        cw = class_weights(y_enc, len(classes), self.class_weight, classes)
        loss_w, sw = loss_weights(sample_weight, y_enc, cw, self.loss)
        rng = np.random.default_rng(self.random_state)
        if warm:
            self._set_class_weight(cw)
        else:  # the first draws of rng, as in cross_validate
            self._initialise(X.shape[1], classes, cw, rng)

        # One array of rows: the training rows, then any validation rows with weight 0;
        # the rows held out for early stopping keep their place with weight 0 too.
        rows, monitor, stopper = [(X, y_enc, loss_w)], {}, None
        if self.early_stopping:
            held = hold_out(y_enc, sw, self.validation_fraction, rng)
            rows[0] = (X, y_enc, np.where(held, 0.0, loss_w))
            monitor["holdout"] = np.where(held, sw, 0.0)
            stopper = EarlyStopping("holdout", "accuracy", patience=int(self.n_iter_no_change),
                                    tol=float(self.tol), restore_best=True)
        if validation_data is not None:
            rows.append((Xv, encode_labels(yv, classes), np.zeros(len(Xv))))
            monitor = {k: np.r_[m, np.zeros(len(Xv))] for k, m in monitor.items()}
            monitor["val"] = np.r_[np.zeros(len(X)), np.ones(len(Xv))]
        X_all, y_all, w_all = (np.concatenate(part) for part in zip(*rows))
        log = self._train(X_all, y_all, w_all, self.epochs, rng, keep_optimizer=warm,
                          monitor=monitor or None, early_stopping=stopper, desc="BPClassifier.fit")
        self.n_iter_ = log.epochs_run
        self.best_validation_score_ = None
        if stopper is not None and log.best_epoch:
            self.best_validation_score_ = float(log.curves["holdout_accuracy"][log.best_epoch - 1])
        if int(self.verbose) >= 1:
            print(summary_line(log, self.history_, self.best_validation_score_, self.tol,
                               self.n_iter_no_change))
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None) -> "BPClassifier":
        """Train one epoch on ``(X, y)``, keeping the weights and optimiser state across calls.

        Parameters
        ----------
        X : (n, n_features)
        y : (n,) labels, each in ``classes``
        classes : array-like, required on the first call
            Every label that can occur in any call (e.g. ``np.unique(y_all)``): the
            network needs one output per class from the start.
        sample_weight : (n,), optional

        Notes
        -----
        The first call (or the first after ``set_params`` on an unfitted classifier)
        initialises the network from ``random_state``; a classifier trained by ``fit``
        continues from its weights. ``early_stopping`` does not apply (there are no
        held-out rows), and ``class_weight="balanced"`` cannot be computed from one batch.
        """
        if self.early_stopping:
            raise ValueError("partial_fit trains one epoch on the rows it is given and holds "
                             "none out: early_stopping=True is for fit only")
        X = check_features(X)
        y = check_class_labels(y, len(X))
        if isinstance(self.class_weight, str):
            raise ValueError(f"class_weight={self.class_weight!r} needs all labels at once; "
                             "partial_fit sees one batch: pass the weights as a dict")
        first = not self.__sklearn_is_fitted__()
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit: "
                                 "every label that can occur, e.g. np.unique(y_all)")
            classes = np.unique(check_labels(np.asarray(classes), "classes", integer=False))
            if len(classes) < 2:
                raise ValueError(f"classes must hold at least two labels, got {classes.tolist()}")
        else:
            self._check_n_features(X)
            self._check_same_network()
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"classes={np.unique(classes).tolist()} differs from the classes "
                                 f"the classifier was set up with, {self.classes_.tolist()}")
            classes = self.classes_
        y_enc = encode_labels(y, classes)
        cw = class_weights(y_enc, len(classes), self.class_weight, classes)
        loss_w, _ = loss_weights(sample_weight, y_enc, cw, self.loss)
        if first:
            self._initialise(X.shape[1], classes, cw, np.random.default_rng(self.random_state))
            self.best_validation_score_ = None
        else:
            self._set_class_weight(cw)
        self._train(X, y_enc, loss_w, 1, self._rng, keep_optimizer=True)
        self.n_iter_ = 1
        return self

    def _settings(self) -> Settings:
        return Settings.from_dict({k: getattr(self, k) for k in TRAINING_PARAMS})

    def _initialise(self, n_features: int, classes: np.ndarray, cw, rng) -> None:
        """A fresh network (the first draws of ``rng``, as :func:`bpnet.cross_validate`)."""
        settings = self._settings()
        net_cw = cw if settings.loss == "cross_entropy" else None  # MSE: on the samples
        self.net_ = settings.build_network(n_features, len(classes), rng, class_weight=net_cw)
        self.classes_ = classes
        self.n_features_in_ = n_features
        self.history_ = {}
        self._rng = rng
        self._optimizer = self._optimizer_key = None

    def _set_class_weight(self, cw) -> None:
        """This call's class weights on the existing network (cross-entropy weighs classes
        in the network; MSE through the sample weights)."""
        if self.net_.loss == "cross_entropy":
            self.net_.class_weight = None if cw is None else cw.astype(self.net_.dtype)

    def _check_same_network(self) -> None:
        """A warm fit or partial_fit trains the existing network: its shape must not change."""
        changed = changed_network(self.net_, self._settings().to_dict())
        if changed:
            raise ValueError(f"warm start: {', '.join(changed)} changed since the network was "
                             "built; set warm_start=False to start afresh")

    def _optimizer_for(self, keep: bool) -> Optimizer:
        key = tuple(repr(getattr(self, k)) for k in _OPTIMIZER_PARAMS)
        if not (keep and self._optimizer is not None and self._optimizer_key == key):
            self._optimizer = self._settings().build_optimizer(self.net_.params)
            self._optimizer_key = key
        return self._optimizer

    def _train(self, X, y_enc, weights, epochs, rng, *, keep_optimizer, monitor=None,
               early_stopping=None, desc="BPClassifier.partial_fit"):
        # verbose: a bar over a fit's epochs at 1, a line per epoch at 2 (and per partial_fit)
        lines = int(self.verbose) >= 2 or (int(self.verbose) == 1 and epochs == 1)
        done = len(self.history_.get("loss", []))

        def print_epoch(epoch: int, values: dict) -> None:
            print(epoch_line(done + epoch, values))

        callbacks = [Curves()] + ([early_stopping] if early_stopping is not None else [])
        if lines:
            callbacks.append(OnEpoch(print_epoch))
        elif self.verbose:
            callbacks.append(Progress(desc))
        log = train(self.net_, Rows(X, y_enc, weights, monitor),
                    self._optimizer_for(keep_optimizer), epochs, callbacks,
                    steps=self._settings().steps(), rng=rng)
        self._rng = rng
        extend_history(self.history_, log.curves)
        return log

    # --- prediction ------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise sklearn_flavoured(NotFittedError)(
                "this BPClassifier is not fitted yet: call fit(X, y) first")

    def _check_n_features(self, X: np.ndarray) -> np.ndarray:
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but BPClassifier is expecting "
                             f"{self.n_features_in_} features as input (the number it was "
                             "fitted on)")
        return X

    def _scores(self, X) -> np.ndarray:
        self._check_fitted()
        X = self._check_n_features(check_features(X))
        return decision_scores(self.net_.output, predict_outputs(in_float64(self.net_), X,
                                                                 logits=True))

    def decision_function(self, X) -> np.ndarray:
        """Class scores, (n, n_classes); for two classes (n,), positive for ``classes_[1]``.

        See the class Notes: the largest score is the prediction, and for sigmoid and
        softmax outputs ``predict_proba`` is the softmax of the scores.
        """
        s = self._scores(X)
        return s[:, 1] - s[:, 0] if s.shape[1] == 2 else s

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, (n, n_classes), rows summing to one (see the class Notes)."""
        scores = self._scores(X)
        return probabilities(self.net_.output, scores)

    def predict_log_proba(self, X) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`, computed without underflow where possible."""
        scores = self._scores(X)
        return log_probabilities(self.net_.output, scores)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (from ``classes_``): the class with the largest score, (n,)."""
        best = self._scores(X).argmax(axis=1)
        return self.classes_[best]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on ``(X, y)``, weighted by ``sample_weight`` if given."""
        predicted = self.predict(X)
        hits = predicted == check_class_labels(y, len(predicted))
        return float(np.average(hits, weights=sample_weight))

    @property
    def coefs_(self) -> list:
        self._check_fitted()
        return [self.net_.params["W1"], self.net_.params["W2"]]

    @property
    def intercepts_(self) -> list:
        self._check_fitted()
        return [self.net_.params["b1"], self.net_.params["b2"]]

    @property
    def loss_curve_(self) -> list:
        self._check_fitted()
        return self.history_["loss"]

    @property
    def validation_scores_(self) -> list | None:
        self._check_fitted()
        return self.history_.get("holdout_accuracy")

    # --- persistence -----------------------------------------------------------
    def save(self, path):
        """Save the fitted classifier to ``path`` (.npz + JSON metadata, no pickle).

        The optimiser state is not saved: ``partial_fit`` or a warm ``fit`` after
        :meth:`load` starts a new optimiser on the saved weights.
        """
        return io.save(self, path)

    @classmethod
    def load(cls, path) -> "BPClassifier":
        """Load a classifier saved with :meth:`save`."""
        return io.load(path, expect=cls)

io.register_kind("BPClassifier", BPClassifier, to_arrays, functools.partial(from_arrays, BPClassifier))

