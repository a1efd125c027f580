"""Multinomial logistic regression (a softmax layer with no hidden units), L2-penalised.

The classical baseline of face descriptors: ``P = softmax(X W + b)``, fitted by minimising

.. math::

    L(W, b) = \\frac{\\sum_i s_i \\, (-\\log P_{i, y_i})}{\\sum_i s_i}
              + \\frac{\\alpha}{2} \\lVert W \\rVert^2

with L-BFGS (``scipy.optimize.minimize``). The sample weights ``s_i`` are the class
weights of each row's label (:func:`bpnet.settings.class_weights`, fitted on the training
labels), the bias is not penalised (as in scikit-learn's ``LogisticRegression``). With more
features than rows (descriptors: thousands of bins, hundreds of faces) the fit runs in the
rows' span: the penalised optimum ``W = -X^T D / alpha`` lies in the row space of ``X``, so
with ``X = U S V^T`` it is ``W = V c`` for the optimum ``c`` of the same problem on ``X V``
(and ``||W|| = ||c||``), an exact reduction from ``d`` to ``rank(X)`` dimensions. The
gradient is written by hand next to the loss (:func:`softmax_loss`,
:func:`softmax_loss_grad`) and checked against central differences in the tests.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize

from .settings import class_weights

__all__ = ["SoftmaxRegression", "Standardizer", "softmax_loss", "softmax_loss_grad", "softmax_proba"]


def softmax_proba(W: np.ndarray, b: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, C)`` of ``X : (n, d)`` under ``W : (d, C)``, ``b : (C,)``."""
    Z = X @ W + b
    Z = Z - Z.max(axis=1, keepdims=True)  # exp of at most 0: no overflow
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def softmax_loss(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray,
                 s: np.ndarray, alpha: float) -> float:
    """The weighted mean cross-entropy plus ``alpha / 2 * ||W||^2`` (the module's ``L``).

    ``y : (n,)`` int labels, ``s : (n,)`` sample weights.
    """
    Z = X @ W + b
    m = Z.max(axis=1, keepdims=True)
    log_p = Z - m - np.log(np.exp(Z - m).sum(axis=1, keepdims=True))
    nll = -log_p[np.arange(len(y)), y]
    return float(s @ nll / s.sum() + 0.5 * alpha * np.sum(W * W))


def softmax_loss_grad(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray,
                      s: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``(dL/dW, dL/db)`` of :func:`softmax_loss`, shapes ``(d, C)`` and ``(C,)``."""
    P = softmax_proba(W, b, X)
    P[np.arange(len(y)), y] -= 1.0  # softmax + cross-entropy: dL/dz = p - onehot(y)
    D = P * (s / s.sum())[:, None]
    return X.T @ D + alpha * W, D.sum(axis=0)


class SoftmaxRegression:
    """L2-penalised multinomial logistic regression (scikit-learn style).

    Parameters
    ----------
    alpha : float
        L2 penalty on the weights (not the biases), per the mean loss; larger is simpler.
    class_weight : None, "balanced", dict or array
        :func:`bpnet.settings.class_weights` of the training labels.
    max_iter : int
        L-BFGS iterations.
    tol : float
        L-BFGS gradient tolerance.

    Attributes
    ----------
    coef_ : (d, C) ndarray
    intercept_ : (C,) ndarray
    n_iter_ : int
    """

    def __init__(self, alpha: float = 1e-2, class_weight=None, max_iter: int = 500,
                 tol: float = 1e-6) -> None:
        self.alpha = alpha
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: ArrayLike, y: ArrayLike, n_classes: int | None = None) -> "SoftmaxRegression":
        """Fit on ``X : (n, d)`` float and ``y : (n,)`` int labels ``0..C-1``."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if X.ndim != 2 or len(X) != len(y) or len(y) == 0:
            raise ValueError(f"need X (n, d) with one label per row, got {X.shape} and {y.shape}")
        C = int(y.max()) + 1 if n_classes is None else int(n_classes)
        weights = class_weights(y, C, self.class_weight)
        s = np.ones(len(y)) if weights is None else np.asarray(weights, np.float64)[y]
        basis = None
        if X.shape[1] > X.shape[0]:  # fit in the row space (see the module docstring)
            _, S, Vt = np.linalg.svd(X, full_matrices=False)
            basis = Vt[S > S[0] * 1e-12].T
            X = X @ basis
        d = X.shape[1]

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            W, b = theta[:d * C].reshape(d, C), theta[d * C:]
            dW, db = softmax_loss_grad(W, b, X, y, s, self.alpha)
            return softmax_loss(W, b, X, y, s, self.alpha), np.concatenate([dW.ravel(), db])

        opt = minimize(objective, np.zeros(d * C + C), jac=True, method="L-BFGS-B",
                       options={"maxiter": int(self.max_iter), "gtol": self.tol})
        coef = opt.x[:d * C].reshape(d, C)
        self.coef_ = coef if basis is None else basis @ coef
        self.intercept_ = opt.x[d * C:]
        self.n_iter_ = int(opt.nit)
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities ``(n, C)``."""
        if not hasattr(self, "coef_"):
            raise RuntimeError("this SoftmaxRegression is not fitted yet: call fit first")
        return softmax_proba(self.coef_, self.intercept_, np.asarray(X, dtype=np.float64))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class of each row, ``(n,)``."""
        return self.predict_proba(X).argmax(axis=1)

    @property
    def n_params(self) -> int:
        """Weights and biases."""
        return int(self.coef_.size + self.intercept_.size)


class Standardizer:
    """Column mean and standard deviation of the rows it is fitted on (constant columns: 1).

    Attributes
    ----------
    mean_, scale_ : (d,) ndarray
    """

    def fit(self, X: np.ndarray) -> "Standardizer":
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.scale_
