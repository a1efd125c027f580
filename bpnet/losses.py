"""Loss functions: each returns its value and its gradient together.

Every loss is written as a weighted mean over samples with per-sample weights
``w`` that sum to one for each model (see :func:`sample_weights`); this single
form covers plain means, cross-validation masks, and PyTorch's class-weighted
mean. Shapes: ``out``/``z``/``T`` are ``(..., n, C)``, ``w`` is ``(..., n)``; a
leading model axis ``K`` is carried through unchanged.

=================  =====================  =====================================
``loss``           ``output``             equals (PyTorch, one model, w = 1/n)
=================  =====================  =====================================
``mse``            any                    ``F.mse_loss(out, one_hot(y))``
``cross_entropy``  ``softmax``            ``F.cross_entropy(z, y, weight=cw)``
``cross_entropy``  ``sigmoid``            ``F.binary_cross_entropy_with_logits(
                                          z, one_hot(y), weight=cw)``
=================  =====================  =====================================

``mse`` returns the gradient with respect to the output ``out`` (it then flows
back through the output activation); the two cross-entropies return it with
respect to the logits ``z``, where it simplifies to ``p - t``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

#: The signature of a loss function, ``(out, z, T, w, class_weight) -> (loss, grad)``.
LossFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None],
                  tuple[np.ndarray, np.ndarray]]


class Loss(NamedTuple):
    """A loss: ``value_and_grad(out, z, T, w, class_weight) -> (loss, grad)``.

    ``grad_wrt_logits`` says whether ``grad`` is with respect to the logits ``z``
    (fused with the output activation) or to the output ``out``.
    """

    name: str
    value_and_grad: LossFn
    grad_wrt_logits: bool
    #: whether class weights enter the per-sample normaliser (torch's weighted mean)
    class_weighted_mean: bool


def mse(out: np.ndarray, z: np.ndarray, T: np.ndarray, w: np.ndarray,
           class_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared error over all elements: ``sum_i w_i * mean_c (out_ic - T_ic)^2``."""
    diff = out - T
    n_out = out.shape[-1]
    loss = np.einsum("...n,...nc->...", w, diff * diff) / n_out
    # d/d out: 2 (out - T) / C, weighted per sample
    grad = (2.0 / n_out) * w[..., None] * diff
    return loss, grad


def softmax_cross_entropy(out: np.ndarray, z: np.ndarray, T: np.ndarray, w: np.ndarray,
                             class_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Categorical cross-entropy on logits: ``sum_i w_i * (logsumexp(z_i) - z_i[y_i])``.

    Class weights are already folded into ``w`` (torch's weighted mean), so they
    are not used here.
    """
    m = z.max(axis=-1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    nll = (lse - z) * T  # picks logsumexp - z_y on the true class
    loss = np.einsum("...n,...nc->...", w, nll)
    # valid only for softmax output + cross-entropy: d/dz = softmax(z) - T
    grad = w[..., None] * (np.exp(z - lse) - T)
    return loss, grad


def sigmoid_cross_entropy(out: np.ndarray, z: np.ndarray, T: np.ndarray, w: np.ndarray,
                             class_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Binary cross-entropy on logits, one sigmoid per class, mean over classes.

    ``sum_i w_i * mean_c cw_c * (softplus(z_ic) - T_ic z_ic)``; ``softplus`` is
    computed as ``max(z, 0) + log1p(exp(-|z|))`` so it never overflows.
    """
    n_out = z.shape[-1]
    cw = 1.0 if class_weight is None else np.asarray(class_weight)
    if np.ndim(cw) == 2:  # a stack's (K, C) weights against (K, n, C) logits
        cw = cw[:, None, :]
    softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    loss = np.einsum("...n,...nc->...", w, cw * (softplus - T * z)) / n_out
    # valid only for sigmoid output + this loss: d/dz = sigmoid(z) - T = out - T
    grad = (w[..., None] / n_out) * cw * (out - T)
    return loss, grad


LOSSES = ("mse", "cross_entropy")


def get_loss(loss: str, output: str) -> Loss:
    """The loss for a (loss, output activation) pair, or a ValueError saying why not."""
    if loss == "mse":
        return Loss("mse", mse, grad_wrt_logits=False, class_weighted_mean=False)
    if loss == "cross_entropy":
        if output == "softmax":
            return Loss("cross_entropy", softmax_cross_entropy, True, class_weighted_mean=True)
        if output == "sigmoid":
            return Loss("cross_entropy", sigmoid_cross_entropy, True, class_weighted_mean=False)
        raise ValueError(
            f"loss='cross_entropy' needs output='softmax' or output='sigmoid', got output={output!r}"
        )
    raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")


def class_weight_of_rows(class_weight: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``class_weight[y]``: the weight of each row's class, ``y`` (n,) or (K, n); a stack's
    per-model weights ``(K, C)`` pick model k's weights for model k's rows."""
    if class_weight.ndim == 1:
        return class_weight[y]
    return np.take_along_axis(class_weight, np.broadcast_to(y, (len(class_weight), y.shape[-1])),
                              axis=-1)


def sample_weights(y: np.ndarray, sample_weight: np.ndarray | None,
                   class_weight: np.ndarray | None, class_weighted_mean: bool,
                   shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """Per-sample weights normalised to sum to one per model.

    Parameters
    ----------
    y : (n,) or (K, n) int
    sample_weight : (n,) or (K, n), optional
        Non-negative; a 0/1 mask selects a cross-validation fold's training set.
    class_weight : (C,) or, for a stack, (K, C), optional
        Folded in only when ``class_weighted_mean`` (softmax cross-entropy), where
        torch divides by ``sum_i cw[y_i]`` instead of ``n``.
    shape : tuple
        Target shape ``(n,)`` or ``(K, n)``.
    dtype : numpy dtype
        The network's dtype, so float32 training stays float32.

    Returns
    -------
    w : array of ``shape``; ``w.sum(-1) == 1``.
    """
    if sample_weight is None:
        w = np.ones(shape, dtype=dtype)
    else:
        w = np.broadcast_to(np.asarray(sample_weight, dtype=dtype), shape)
    if class_weighted_mean and class_weight is not None:
        w = w * class_weight_of_rows(np.asarray(class_weight, dtype=dtype), y)
    total = w.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        bad = np.flatnonzero(np.atleast_1d(total.squeeze(-1)) <= 0).tolist()
        raise ValueError(f"sample weights sum to zero (no training samples) for model(s) {bad}")
    return w / total
