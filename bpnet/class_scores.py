r"""What the network's outputs mean as class scores and as probabilities.

:class:`~bpnet.BPClassifier` turns the output layer's pre-activations ``z`` (n, C) into
scores ``s`` (its ``decision_function``; the prediction is the largest) and
probabilities (its ``predict_proba``), per output activation:

============  ===================================  =========================================
``output``    scores ``s``                         probabilities
============  ===================================  =========================================
``softmax``   the logits ``z``                     ``softmax(s)``: the network's outputs
``sigmoid``   ``log sigmoid(z)``, log of outputs   ``outputs / sum(outputs)`` = ``softmax(s)``
``identity``  the outputs ``z``                    the point of the probability simplex
                                                   nearest to ``s`` (Euclidean projection)
============  ===================================  =========================================

Why: a softmax output is a distribution already. A sigmoid output trained against
one-hot targets (MSE, the paper, or binary cross-entropy) estimates each class's
probability on its own; dividing by the sum makes them one distribution, and writing
that as the softmax of ``log sigmoid(z)`` keeps it finite where ``sigmoid(z)`` rounds to
0 or 1. A linear output trained with MSE estimates the one-hot target's expectation,
which lies in the simplex; projecting onto that convex set never moves the estimate
further from the true distribution in the squared error it was trained with. In every
case the probabilities rank like the scores, so for two classes ``s1 - s0`` is a
decision function whose sign picks class 1.
"""
from __future__ import annotations

import numpy as np


def decision_scores(output: str, z: np.ndarray) -> np.ndarray:
    """Class scores (n, C) in float64 from the output pre-activations ``z`` (n, C)."""
    z = np.asarray(z, dtype=np.float64)
    if output == "sigmoid":
        return -np.logaddexp(0.0, -z)  # log sigmoid(z) = -softplus(-z), finite for any z
    return z


def log_softmax(s: np.ndarray) -> np.ndarray:
    """``log(softmax(s))`` along rows, shifted by the row maximum so it cannot overflow."""
    shifted = s - s.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def project_to_simplex(v: np.ndarray) -> np.ndarray:
    """Each row of ``v`` (n, C) moved to the nearest probability vector (Euclidean).

    The projection is ``max(v - theta, 0)`` with the one ``theta`` per row that makes it
    sum to one; sorting the row finds it (Held, Wolfe & Crowder 1974; Duchi et al. 2008).
    """
    n, C = v.shape
    u = -np.sort(-v, axis=1)  # each row in descending order
    excess = np.cumsum(u, axis=1) - 1.0
    # the j largest entries stay positive while u_j > (sum of them - 1) / j; that holds
    # for a prefix of j = 1..rho
    rho = (u - excess / np.arange(1, C + 1) > 0).sum(axis=1)
    theta = excess[np.arange(n), rho - 1] / rho
    return np.maximum(v - theta[:, None], 0.0)


def probabilities(output: str, s: np.ndarray) -> np.ndarray:
    """Probabilities (n, C), rows summing to one, from the scores of :func:`decision_scores`."""
    if output == "identity":
        return project_to_simplex(s)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_probabilities(output: str, s: np.ndarray) -> np.ndarray:
    """``log(probabilities(output, s))``; exact ``log_softmax`` for sigmoid and softmax
    outputs, ``-inf`` where a projected (identity) probability is 0."""
    if output == "identity":
        with np.errstate(divide="ignore"):
            return np.log(project_to_simplex(s))
    return log_softmax(s)
