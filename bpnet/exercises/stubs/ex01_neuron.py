"""Exercise 1: the backward pass of one neuron, node by node.

Objective: apply the chain rule on a scalar computational graph, and add up the
    gradients of a value that is used twice.
Prerequisites: derivatives of products, sums and tanh; the gallery chapter
    "From one neuron to the matrix form".
Time: 15 minutes.

One tanh neuron with two inputs, a squared error, and an L2 penalty on ``w1``::

    n1 = w1 * x1
    n2 = w2 * x2
    s  = n1 + n2 + b
    h  = tanh(s)
    e  = h - t
    L  = e * e + lam * w1 * w1

Write ``neuron_backward``: return dL/d(node) for every node of the graph above, as a
dict with the keys L, e, h, s, n1, n2, b, w1, w2, x1, x2. Start at the output
(dL/dL = 1) and go back one node at a time; each node's gradient is its child's gradient
times the local derivative. ``w1`` feeds two nodes: its gradient is the sum over both.

Check your answer with ``python -m bpnet.exercises check 1 ex01_neuron.py``.
"""
import math


def neuron_forward(x1, x2, w1, w2, b, t, lam=0.1):
    """The value of every node, by name."""
    n1 = w1 * x1
    n2 = w2 * x2
    s = n1 + n2 + b
    h = math.tanh(s)
    e = h - t
    L = e * e + lam * w1 * w1
    return {"n1": n1, "n2": n2, "s": s, "h": h, "e": e, "L": L}


def neuron_backward(x1, x2, w1, w2, b, t, lam=0.1):
    """dL/d(node) for every node: a dict with keys L, e, h, s, n1, n2, b, w1, w2, x1, x2."""
    v = neuron_forward(x1, x2, w1, w2, b, t, lam)  # noqa: F841 (you will need v["h"], v["e"])
    grads = {"L": 1.0}
    raise NotImplementedError  # your code here: fill grads, node by node
    return grads
