"""Activation functions, each with its forward formula and its derivative side by side.

Every activation is a pair of functions:

``forward(z) -> a``
    the activation applied to the pre-activation ``z``.
``backward(a, grad_a) -> grad_z``
    the chain rule through the activation, written from the *output* ``a``
    (the classic backprop form, e.g. ``a * (1 - a)`` for the sigmoid), so the
    network never has to keep ``z`` around.

All functions work on arrays of any shape whose last axis is the unit axis,
so the same code serves one network ``(n, H)`` and a stack of networks
``(K, n, H)``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np


class Activation(NamedTuple):
    """A named activation: ``forward(z)`` and ``backward(a, grad_a)``."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray]


# --- sigmoid -----------------------------------------------------------------
def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))``, stable for any ``z``.

    ``exp`` is only ever taken of ``-|z|``, which cannot overflow.
    """
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_backward(a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    # d sigmoid / dz = a (1 - a)
    return grad_a * a * (1.0 - a)


# --- tanh --------------------------------------------------------------------
def tanh(z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent."""
    return np.tanh(z)


def tanh_backward(a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    # d tanh / dz = 1 - a^2
    return grad_a * (1.0 - a * a)


# --- relu --------------------------------------------------------------------
def relu(z: np.ndarray) -> np.ndarray:
    """Rectified linear unit ``max(z, 0)``."""
    return np.maximum(z, 0.0)


def relu_backward(a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    # d relu / dz = 1 where the unit is on, 0 elsewhere (0 at z = 0, as torch)
    return grad_a * (a > 0)


# --- identity ----------------------------------------------------------------
def identity(z: np.ndarray) -> np.ndarray:
    """The identity (a linear output layer)."""
    return z


def identity_backward(a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    # d z / dz = 1
    return grad_a


# --- softmax -----------------------------------------------------------------
def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, stable: the row maximum is subtracted first."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    # Jacobian-vector product of softmax: da_j/dz_k = a_j (delta_jk - a_k), so
    # grad_z = a * (grad_a - sum_j grad_a_j a_j).  The full (C, C) Jacobian is never built.
    return a * (grad_a - (grad_a * a).sum(axis=-1, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_backward),
    "tanh": Activation("tanh", tanh, tanh_backward),
    "relu": Activation("relu", relu, relu_backward),
    "identity": Activation("identity", identity, identity_backward),
    "softmax": Activation("softmax", softmax, softmax_backward),
}

#: Activations allowed on the hidden layer and on the output layer.
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu")
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "identity")


def get_activation(name: str, allowed: tuple[str, ...] | None = None) -> Activation:
    """Look up an activation by name, with a clear error for unknown names."""
    choices = allowed if allowed is not None else tuple(ACTIVATIONS)
    if name not in choices:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(choices)}")
    return ACTIVATIONS[name]
