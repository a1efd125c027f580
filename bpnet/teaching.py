"""A scalar computational graph, for teaching backpropagation from one neuron up.

:class:`Value` holds one number, remembers the operation and the inputs that made it, and
:meth:`Value.backward` runs the chain rule back through the graph (the idea of Karpathy's
*micrograd*, cut to what a lecture on a sigmoid network needs). Every operation keeps its
forward formula and its local derivative side by side, as :mod:`bpnet.activations` does.
:func:`draw_graph` draws a graph with each node's value and gradient.

This is for reading and for the gallery, one Python object per number and far too slow
for training. The network core never imports it (an import-linter contract in
``setup.cfg``); :class:`bpnet.BPNetwork` computes the same numbers with matrix products
(see the gallery chapter "From one neuron to the matrix form").
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # matplotlib is needed only to draw
    import matplotlib.axes


class Value:
    """One scalar node of a computational graph.

    Parameters
    ----------
    data : float
        The node's value (its forward result).
    label : str
        A name to show in drawings (``"w1"``, ``"h"``...).

    Attributes
    ----------
    grad : float
        dL/d(this node) after :meth:`backward` was called on the output ``L``.
    op : str
        The operation that made the node (``""`` for a leaf).
    parents : tuple of Value
        The nodes it was computed from.
    """

    def __init__(self, data: float, label: str = "", *, _parents: tuple = (), _op: str = ""):
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self.op = _op
        self.parents: tuple[Value, ...] = _parents
        self._backward = lambda: None  # sends self.grad on to the parents

    def named(self, label: str) -> Value:
        """Give the node a label for drawings; returns the node, so ``(w * x).named("n")``."""
        self.label = label
        return self

    def __repr__(self) -> str:
        return f"Value({self.label or self.op or 'leaf'}: data={self.data:.4g}, grad={self.grad:.4g})"

    # Each operation: the forward value, then the local derivative times the node's gradient,
    # ADDED (+=) to each parent, because a node used twice gets gradient along both paths.
    def __add__(self, other: Value | float) -> Value:
        other = _value(other)
        out = Value(self.data + other.data, _parents=(self, other), _op="+")

        def backward():  # d(a + b)/da = d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = _value(other)
        out = Value(self.data * other.data, _parents=(self, other), _op="*")

        def backward():  # d(a b)/da = b, d(a b)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def __pow__(self, k: int | float) -> Value:
        out = Value(self.data ** k, _parents=(self,), _op=f"**{k}")

        def backward():  # d(a^k)/da = k a^(k-1)
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = backward
        return out

    def sigmoid(self) -> Value:
        s = 1.0 / (1.0 + math.exp(-self.data)) if self.data >= 0 else \
            math.exp(self.data) / (1.0 + math.exp(self.data))  # stable for either sign
        out = Value(s, _parents=(self,), _op="sigmoid")

        def backward():  # written from the output, as bpnet does: s' = s (1 - s)
            self.grad += s * (1.0 - s) * out.grad
        out._backward = backward
        return out

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        out = Value(t, _parents=(self,), _op="tanh")

        def backward():  # tanh' = 1 - tanh^2
            self.grad += (1.0 - t * t) * out.grad
        out._backward = backward
        return out

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        other = _value(other)
        out = Value(self.data - other.data, _parents=(self, other), _op="-")

        def backward():  # d(a - b)/da = 1, d(a - b)/db = -1
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = backward
        return out

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rsub__(self, other: float) -> Value:
        return _value(other) - self

    def __truediv__(self, other: float) -> Value:
        return self * (1.0 / other)

    def nodes(self) -> list[Value]:
        """Every node this one depends on, itself last, parents before children."""
        order: list[Value] = []
        seen: set[int] = set()

        def visit(v: Value) -> None:  # depth first: a node goes in after all its parents
            if id(v) not in seen:
                seen.add(id(v))
                for p in v.parents:
                    visit(p)
                order.append(v)
        visit(self)
        return order

    def backward(self) -> None:
        """Fill ``grad`` of every node with dL/d(node), where L is this node.

        The chain rule needs a node's gradient complete before it is passed on, so nodes
        are visited from the output back, in reverse topological order.
        """
        order = self.nodes()
        for v in order:
            v.grad = 0.0
        self.grad = 1.0  # dL/dL
        for v in reversed(order):
            v._backward()


def _value(x: Value | float) -> Value:
    return x if isinstance(x, Value) else Value(x, f"{x:g}")  # a constant, named by its value


def two_moons(n: int = 300, noise: float = 0.12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D toy problem: two interleaved half circles, standardised.

    No straight line separates the classes, one hidden layer of a few units does: small
    enough to draw the decision boundary, hard enough to need the hidden layer.

    Parameters
    ----------
    n : int
        Number of points (each class gets about half).
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int
        Seed of the ``np.random.Generator`` that draws the points.

    Returns
    -------
    X : (n, 2)
        The points, each column standardised to mean 0 and standard deviation 1.
    y : (n,)
        Class labels, 0 (upper moon) or 1 (lower moon).
    """
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi, n)
    y = rng.integers(0, 2, n)
    X = np.column_stack([np.where(y == 0, np.cos(angle), 1 - np.cos(angle)),
                         np.where(y == 0, np.sin(angle), 0.5 - np.sin(angle))])
    X = X + rng.normal(scale=noise, size=X.shape)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def draw_graph(root: Value, ax: matplotlib.axes.Axes | None = None, *,
               fontsize: float = 8) -> matplotlib.axes.Axes:
    """Draw the graph that computed ``root``, each node with its value and gradient.

    Nodes are placed left to right by depth (leaves at the left, ``root`` at the right);
    an arrow runs from each input to the node made from it. A node shows its label or
    operation, ``data`` and ``grad``.

    Parameters
    ----------
    root : Value
        The output node (call :meth:`Value.backward` first to show gradients).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    fontsize : float
        Size of the node text.

    Returns
    -------
    The Axes drawn on.
    """
    import matplotlib.pyplot as plt

    order = root.nodes()
    depth: dict[int, int] = {}
    for v in order:  # parents come first, so their depths are known
        depth[id(v)] = 1 + max((depth[id(p)] for p in v.parents), default=-1)
    columns: dict[int, list[Value]] = {}
    for v in order:
        columns.setdefault(depth[id(v)], []).append(v)
    pos = {}
    for d, vs in columns.items():
        for k, v in enumerate(vs):
            pos[id(v)] = (d, (len(vs) - 1) / 2 - k)
    if ax is None:
        height = max(len(vs) for vs in columns.values())
        _, ax = plt.subplots(figsize=(1.7 * len(columns) + 0.5, 0.9 * height + 1))
    for v in order:
        for p in v.parents:
            ax.annotate("", xy=pos[id(v)], xytext=pos[id(p)],
                        arrowprops={"arrowstyle": "->", "color": "grey", "shrinkA": 22,
                                    "shrinkB": 22})
    for v in order:
        names = [p.label or "." for p in v.parents]
        if v.op.startswith("**"):
            expr = f"{names[0]}{v.op}"
        elif len(names) == 2:
            expr = f"{names[0]} {v.op} {names[1]}"
        else:
            expr = f"{v.op}({', '.join(names)})" if v.op else ""
        name = f"{v.label} = {expr}" if v.label and expr else v.label or expr
        ax.text(*pos[id(v)], f"{name}\ndata {v.data:.4f}\ngrad {v.grad:.4f}", ha="center",
                va="center", fontsize=fontsize,
                bbox={"boxstyle": "round", "fc": "lightyellow" if not v.parents else "white",
                      "ec": "tab:red" if v is root else "black"})
    ax.set_xlim(-0.6, max(columns) + 0.6)
    ax.set_ylim(min(y for _, y in pos.values()) - 0.7, max(y for _, y in pos.values()) + 0.7)
    ax.axis("off")
    return ax
