"""Exercise 5: find the bug.

Objective: use a gradient check's per-parameter report to locate a wrong line in a
    backward pass.
Prerequisites: exercises 2 and 4; ``bpnet.testing.assert_gradients_close``
    (documentation page "Checking gradients").
Time: 10 minutes.

One line of this network's backward pass is wrong. Run the check: it says which
gradients are wrong (and which are right), and that tells you where to look. Fix the
line, run the check again. You can also run the gradient checker yourself::

    from bpnet.testing import assert_gradients_close
    X, T = np.random.default_rng(0).normal(size=(6, 3)), np.zeros((6, 2))
    assert_gradients_close(TwoLayerNet(), X, T)

Check your answer with ``python -m bpnet.exercises check 5 ex05_bug.py``.
"""
import numpy as np


class TwoLayerNet:
    """x -> tanh(x W1 + b1) -> (.) W2 + b2, half the squared error against targets T."""

    def __init__(self, n_in=3, n_hidden=4, n_out=2, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W1": rng.normal(size=(n_in, n_hidden)), "b1": np.zeros(n_hidden),
                       "W2": rng.normal(size=(n_hidden, n_out)), "b2": np.zeros(n_out)}

    def loss_and_grads(self, X, T):
        p = self.params
        a = np.tanh(X @ p["W1"] + p["b1"])
        out = a @ p["W2"] + p["b2"]
        loss = 0.5 * np.sum((out - T) ** 2) / len(X)
        d_out = (out - T) / len(X)
        d_a = d_out @ p["W2"].T
        d_z = d_a * (1 - a) ** 2
        grads = {"W1": X.T @ d_z, "b1": d_z.sum(axis=0),
                 "W2": a.T @ d_out, "b2": d_out.sum(axis=0)}
        return loss, grads
