"""Exercise 9: remove a hidden unit without changing the network's outputs.

Objective: derive the compensating update that folds a removed unit's contribution into
    the unit that stays and the output bias, and prove it by unchanged outputs.
Prerequisites: exercise 8; linear least squares (``np.polyfit``); the gallery example
    "Distinctiveness pruning, with and without compensation".
Time: 20 minutes.

The output layer is linear in the hidden outputs: ``z = H @ W2 + b2``. If the removed
unit ``j`` behaves like ``h_j = a * h_i + c`` on the training patterns (a duplicate:
a = 1, c = 0; a complement of a sigmoid unit: a = -1, c = 1), then adding ``a * W2[j]``
to the kept unit's *outgoing* weights ``W2[i]`` and ``c * W2[j]`` to ``b2`` leaves ``z``
unchanged. A constant unit (``i`` is None) has a = 0 and c its output.

Write ``remove_unit``: fit ``a`` and ``c`` by least squares on ``H``, fold unit ``j``
into unit ``i`` and the bias, and return the weights without unit ``j``. Do not change
the arrays you are given. (Averaging the *incoming* weights of the two units is a
tempting shortcut; the check shows why it is wrong.)

Check your answer with ``python -m bpnet.exercises check 9 ex09_merge.py``.
"""
import numpy as np


def forward(X, W1, b1, W2, b2):
    """The network: sigmoid hidden units, sigmoid outputs. Returns (outputs, hidden)."""
    H = 1 / (1 + np.exp(-(X @ W1 + b1)))
    return 1 / (1 + np.exp(-(H @ W2 + b2))), H


def remove_unit(W1, b1, W2, b2, H, j, i=None):
    """Remove hidden unit j, compensating through unit i (None: j is constant).

    W1 (d, m), b1 (m,), W2 (m, C), b2 (C,) are the weights, H (n, m) the hidden outputs
    on the training patterns. Returns new (W1, b1, W2, b2) with m - 1 hidden units.
    """
    raise NotImplementedError  # your code here
