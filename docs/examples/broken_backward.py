"""
Finding a bug with the gradient checker
=======================================

``bpnet.gradcheck`` only needs an object with a ``params`` dict and a
``loss_and_grads(X, y)`` method, so it checks networks that are not bpnet's.
This one is a tiny sigmoid -> linear regression net written from scratch. Its
``forget_sigmoid_derivative`` switch reproduces the most common backprop bug:
leaving out the activation's derivative ``a * (1 - a)`` on the way back.

Run it: ``python docs/examples/broken_backward.py``.
"""
import numpy as np

import bpnet


class TinyNet:
    """x -> sigmoid(x W1 + b1) -> (.) W2 + b2, squared error against one-hot targets."""

    def __init__(self, n_in, n_hidden, n_out, forget_sigmoid_derivative=False, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W1": rng.normal(size=(n_in, n_hidden)), "b1": np.zeros(n_hidden),
                       "W2": rng.normal(size=(n_hidden, n_out)), "b2": np.zeros(n_out)}
        self.broken = forget_sigmoid_derivative

    def loss_and_grads(self, X, y):
        p = self.params
        a = 1 / (1 + np.exp(-(X @ p["W1"] + p["b1"])))
        out = a @ p["W2"] + p["b2"]
        T = np.eye(out.shape[1])[y]
        loss = 0.5 * np.sum((out - T) ** 2) / len(X)
        d_out = (out - T) / len(X)
        d_a = d_out @ p["W2"].T
        d_z = d_a if self.broken else d_a * a * (1 - a)  # the bug: no sigmoid derivative
        grads = {"W1": X.T @ d_z, "b1": d_z.sum(0), "W2": a.T @ d_out, "b2": d_out.sum(0)}
        return loss, grads


def main():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    for broken in (False, True):
        report = bpnet.gradcheck(TinyNet(3, 4, 2, forget_sigmoid_derivative=broken), X, y)
        print(f"forget_sigmoid_derivative={broken}: passed={report.passed()}")
        print(report, end="\n\n")
    return report


if __name__ == "__main__":
    main()
