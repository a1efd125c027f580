"""Exercise 2: the backward pass of tanh, from its output.

Objective: write an activation's backward pass from the forward pass's output, and
    multiply by the upstream gradient.
Prerequisites: exercise 1; arrays and broadcasting in NumPy.
Time: 10 minutes.

``bpnet`` writes every activation's derivative from the activation's *output*
(``bpnet.activations``): the forward pass already computed ``a = tanh(z)``, so the
backward pass should need nothing else. Write ``tanh_backward(a, grad_a)``, which returns
dL/dz given ``a`` and the upstream gradient dL/da, for arrays of any shape and dtype.
Hint: d tanh(z)/dz = 1 - tanh(z)**2.

Check your answer with ``python -m bpnet.exercises check 2 ex02_tanh.py``.
"""
import numpy as np  # noqa: F401 (you may need it)


def tanh_backward(a, grad_a):
    """dL/dz for a = tanh(z), from the output a and the upstream gradient dL/da."""
    raise NotImplementedError  # your code here
