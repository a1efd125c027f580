"""
Finding a bug with the gradient checker
=======================================

:Objective: use the gradient checker on a network that is not bpnet's, and recognise
    the most common backpropagation bug from its report.
:Prerequisites: "Backpropagation by hand, for one pattern".
:Time: 5 minutes (lab 1 extension).

``bpnet.gradcheck`` only needs an object with a ``params`` dict and a
``loss_and_grads(X, y)`` method, so it checks networks that are not bpnet's.
This one is a tiny sigmoid -> linear regression net written from scratch. Its
``forget_sigmoid_derivative`` switch reproduces the most common backprop bug:
leaving out the activation's derivative ``a * (1 - a)`` on the way back.

Run it: ``python docs/examples/broken_backward.py``.
"""
import matplotlib.pyplot as plt
import numpy as np

import bpnet
from bpnet.activations import softmax


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


# %%
# The report
# ----------
# Every parameter gets a row: the worst relative error, the entry where it occurs, and
# the analytic and numerical gradients there.
rng = np.random.default_rng(1)
X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
reports = {}
for broken in (False, True):
    reports[broken] = bpnet.gradcheck(TinyNet(3, 4, 2, forget_sigmoid_derivative=broken), X, y)
    print(f"forget_sigmoid_derivative={broken}: passed={reports[broken].passed()}")
    print(reports[broken], end="\n\n")

# %%
# Read the report from the output layer down: ``W2`` and ``b2`` are right, so the error
# signal arriving at the output is right; ``W1`` and ``b1`` are wrong, so the bug sits
# between the output and the first layer, on the way back through the hidden activation.
# That is exactly where the missing derivative is.
#
# The report keeps both gradients, so the bug can also be seen: every entry of a correct
# gradient lies on the diagonal; the broken ``W1`` and ``b1`` are off it, too large,
# because the factor ``a (1 - a) <= 1/4`` is missing.
fig, axes = plt.subplots(1, 2, figsize=(8, 3.8), sharex=True, sharey=True)
for ax, broken in zip(axes, (False, True)):
    report = reports[broken]
    for name in report:
        ax.scatter(report.numerical[name].ravel(), report.analytic[name].ravel(), label=name, s=18)
    lim = max(np.abs(report.analytic[n]).max() for n in report) * 1.1
    ax.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8, zorder=0)
    ax.set_title("sigmoid derivative forgotten" if broken else "correct backward")
    ax.set_xlabel("numerical gradient (central differences)")
axes[0].set_ylabel("analytic gradient (backward pass)")
axes[0].legend()
fig.tight_layout()
plt.show()

# %%
# Checking one function: why the upstream gradient is random
# ----------------------------------------------------------
# :func:`bpnet.gradcheck_function` checks a single function and its backward, the way a
# student writes a new layer. It multiplies the output by a random (seeded) upstream
# gradient ``G`` and differentiates ``sum(G * f(z))``. With ``G = 1`` instead, a softmax
# would hide its bugs: its outputs always sum to one, so the true gradient of
# ``sum(softmax(z))`` is zero, and a backward that returns zeros would pass.


def softmax_backward_wrong(G, z):
    """The elementwise formula, as if softmax were a sigmoid: forgets that outputs interact."""
    a = softmax(z)
    return G * a * (1 - a)


def softmax_backward(G, z):
    """The Jacobian-vector product: da_j/dz_k = a_j (delta_jk - a_k)."""
    a = softmax(z)
    return a * (G - (G * a).sum(axis=-1, keepdims=True))


z = rng.normal(size=(4, 5))
print(bpnet.gradcheck_function(softmax, softmax_backward_wrong, z), end="\n\n")
print(bpnet.gradcheck_function(softmax, softmax_backward, z))

# %%
# In a test suite, :func:`bpnet.testing.assert_gradients_close` raises an
# ``AssertionError`` whose message is this table, for a model, a layer or a function.
