"""Exercise 6: the backward pass of batch normalisation.

Objective: backpropagate through statistics computed from the batch itself, where every
    output depends on every input of its column.
Prerequisites: exercises 2 and 4; the mean and variance of a batch.
Time: 25 minutes.

Batch normalisation (training mode) standardises each column of ``x`` (n, d) with the
batch's own mean and variance, then scales and shifts it::

    mu   = x.mean(axis=0)
    var  = x.var(axis=0)                  # the biased variance, as in training
    xhat = (x - mu) / sqrt(var + eps)
    out  = gamma * xhat + beta

Write ``batchnorm_backward(x, gamma, beta, grad_out)``: return ``(dx, dgamma, dbeta)``,
the gradients of L given the upstream gradient dL/dout (n, d). Three classic mistakes:
treating ``mu`` and ``var`` as constants (they depend on x), averaging dbeta over the
batch instead of summing, and dropping ``grad_out`` from one of the terms. An all-ones
upstream gradient hides the last one, so test with a random one.

Check your answer with ``python -m bpnet.exercises check 6 ex06_batchnorm.py``.
"""
import numpy as np

EPS = 1e-5


def batchnorm_forward(x, gamma, beta, eps=EPS):
    """Training-mode batch normalisation of x (n, d) with gamma, beta (d,)."""
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta


def batchnorm_backward(x, gamma, beta, grad_out, eps=EPS):
    """(dx (n, d), dgamma (d,), dbeta (d,)) for the upstream gradient grad_out (n, d)."""
    raise NotImplementedError  # your code here
