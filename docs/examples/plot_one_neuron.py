"""
From one neuron to the matrix form
==================================

:Objective: compute backpropagation on a graph of single numbers, node by node, and
    recognise the same arithmetic in :class:`bpnet.BPNetwork`'s matrix backward pass.
:Prerequisites: the chain rule for derivatives; Python classes; the toy problem example.
:Time: 15 minutes (lab 1).

Backpropagation is the chain rule applied to a graph of simple operations. Here every
number is a node: :class:`bpnet.teaching.Value` records which operation made it and from
what, and its ``backward`` walks the graph from the loss back to the inputs, each node
passing its gradient to its parents times a *local* derivative. We build one sigmoid
neuron that way, draw the graph with every node's gradient, check one gradient by
nudging a weight, and then build the paper's whole network out of scalars to show that
the matrix formulas of :meth:`bpnet.BPNetwork.loss_and_grads` compute exactly the same
numbers. (Exercise 1 of :doc:`/exercises` does one neuron's backward pass by hand.)
"""
import matplotlib.pyplot as plt
import numpy as np

import bpnet
from bpnet.teaching import Value, draw_graph

# %%
# One neuron, one number at a time
# --------------------------------
# Two inputs, two weights, a bias, a sigmoid, and the squared error against the target
# ``t = 1``. Each line makes one node; ``named`` labels it for the drawing.
x1, x2 = Value(2.0, "x1"), Value(-1.0, "x2")
w1, w2, b = Value(-0.5, "w1"), Value(0.8, "w2"), Value(0.3, "b")
n1 = (w1 * x1).named("n1")
n2 = (w2 * x2).named("n2")
s = (n1 + n2 + b).named("s")
h = s.sigmoid().named("h")
e = (h - 1.0).named("e")
L = (e ** 2).named("L")
L.backward()
for v in (L, e, h, s, n1, n2, w1, w2, b, x1, x2):
    print(f"{v.label:>2}: value {v.data:+.4f}   dL/d{v.label} = {v.grad:+.4f}")

# %%
# Read the gradients from the output back. ``dL/dL = 1``; ``L = e^2`` gives
# ``dL/de = 2 e``, and ``e = h - 1`` passes it on unchanged to ``h``; the sigmoid's
# derivative, written from its output, is ``h (1 - h)``; a sum hands its gradient
# unchanged to every term (``n1``, ``n2``, ``b`` all get ``dL/ds``); a product hands
# each factor the gradient times the *other* factor (``dL/dw1 = dL/dn1 * x1``). The
# picture shows the same numbers on the graph (the unlabelled node is the intermediate
# sum ``n1 + n2``, the leaf ``1`` the target, and ``.`` stands for an unlabelled input).
ax = draw_graph(L)
ax.set_title("One sigmoid neuron: every node's value and dL/d(node)")
plt.show()

# %%
# Is ``dL/dw1`` right? Nudge ``w1`` both ways and watch ``L``: the central difference
# agrees with backpropagation to many digits.


def loss_at(w1_value: float) -> float:
    z = w1_value * 2.0 + 0.8 * -1.0 + 0.3
    return (1 / (1 + np.exp(-z)) - 1.0) ** 2


eps = 1e-6
print(f"dL/dw1: backprop {w1.grad:.10f}, central difference "
      f"{(loss_at(-0.5 + eps) - loss_at(-0.5 - eps)) / (2 * eps):.10f}")

# %%
# The whole network, built from scalars
# -------------------------------------
# The paper's network with 3 inputs, 4 sigmoid hidden units and 2 sigmoid outputs, mean
# squared error, on a batch of 5 patterns: one ``Value`` per weight, a Python loop per
# sum. ``bpnet``'s loss is the mean over patterns and outputs, so the scalar graph divides
# the sum of squares by ``n * C``.
net = bpnet.BPNetwork(3, 4, 2, hidden="sigmoid", output="sigmoid", loss="mse", seed=0)
rng = np.random.default_rng(0)
X, y = rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])
T = bpnet.one_hot(y, 2)
V = {name: np.array([Value(w, f"{name}{k}") for k, w in enumerate(a.ravel())],
                    dtype=object).reshape(a.shape) for name, a in net.params.items()}
terms = []
for x, t in zip(X, T):
    hidden = [sum((x[i] * V["W1"][i, j] for i in range(3)), V["b1"][j]).sigmoid()
              for j in range(4)]
    outputs = [sum((hidden[j] * V["W2"][j, k] for j in range(4)), V["b2"][k]).sigmoid()
               for k in range(2)]
    terms += [(o - tk) ** 2 for o, tk in zip(outputs, t)]
L_net = sum(terms[1:], terms[0]) / len(terms)
L_net.backward()
print(f"{len(L_net.nodes())} scalar nodes for {sum(a.size for a in net.params.values())} "
      f"weights and 5 patterns")

# %%
# ``BPNetwork`` does the same with four matrix products. Each scalar gradient matches
# its matrix counterpart to rounding:
loss, grads = net.loss_and_grads(X, y)
print(f"loss: scalar graph {L_net.data:.15f}, BPNetwork {loss:.15f}")
for name, g in grads.items():
    scalar = np.vectorize(lambda v: v.grad)(V[name])
    print(f"{name}: largest difference {np.abs(scalar - g).max():.1e}")

# %%
# Why the matrix form is the same computation
# -------------------------------------------
# In the scalar graph, hidden unit ``j`` of pattern ``p`` feeds every output ``k``, so its
# gradient is the *sum* over those paths, ``sum_k dL/dz2[p, k] * W2[j, k]``: the ``+=``
# in ``Value``'s backward functions. For all patterns and units at once that sum is one
# matrix product, ``dA1 = dZ2 @ W2.T``. A weight ``W1[i, j]`` is used once per pattern, so
# its gradient sums over the patterns, ``sum_p X[p, i] * dZ1[p, j]``, which is
# ``X.T @ dZ1``; a bias adds up its column, ``dZ1.sum(axis=0)``. Same chain rule, same
# numbers; the matrix form replaces thousands of Python objects with a few calls to
# optimised linear algebra.
scalar_all = np.concatenate([np.vectorize(lambda v: v.grad)(V[k]).ravel() for k in grads])
matrix_all = np.concatenate([grads[k].ravel() for k in grads])
fig, ax = plt.subplots(figsize=(4.2, 4))
ax.plot(matrix_all, scalar_all, "o", ms=5)
lim = np.abs(matrix_all).max() * 1.1
ax.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8)
ax.set(xlabel="dL/dw from BPNetwork (matrix backward)",
       ylabel="dL/dw from the scalar graph", title="Every weight's gradient, two ways")
fig.tight_layout()
plt.show()
