"""Exercise 4: a layer with pruned units.

Objective: write a whole layer's backward pass (weights, biases and input) and see how
    a 0/1 mask stops the gradient of pruned units.
Prerequisites: exercise 2; the sigmoid's derivative a * (1 - a); matrix shapes.
Time: 15 minutes.

Distinctiveness pruning switches hidden units off with a 0/1 mask instead of cutting
them out of the arrays, so that every network of a stack keeps the same shapes. Write
the backward pass of this masked sigmoid layer: fill ``self.grads`` with the gradients
of ``W`` and ``b`` and return the gradient with respect to the input ``x``. A pruned
unit must get no gradient at all.

Check your answer with ``python -m bpnet.exercises check 4 ex04_masked.py``.
"""
import numpy as np


class MaskedLayer:
    """h = sigmoid(x @ W + b) * mask: units with mask 0 are pruned and output 0."""

    def __init__(self, n_in, n_out, mask, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W": rng.normal(size=(n_in, n_out)), "b": rng.normal(size=n_out)}
        self.mask = np.asarray(mask, dtype=float)
        self.grads = {}

    def forward(self, x):
        self.x = x
        self.a = 1 / (1 + np.exp(-(x @ self.params["W"] + self.params["b"])))
        return self.a * self.mask

    def backward(self, upstream):
        """Fill self.grads["W"] (n_in, n_out) and self.grads["b"] (n_out,); return dL/dx."""
        raise NotImplementedError  # your code here
