"""Exercise 3: softmax and cross-entropy together.

Objective: derive the gradient of the mean cross-entropy with respect to the logits,
    and see why the softmax's coupling between classes makes it so simple.
Prerequisites: exercise 2; the softmax function; a mean over a batch.
Time: 15 minutes.

For a softmax output with cross-entropy loss the gradient with respect to the logits is
famously simple. Write ``softmax_cross_entropy_backward(z, y)``: the gradient of the
*mean* loss over the batch with respect to the logits ``z``, shape ``(n, C)``.
Hint: work out dL_i/dz_ik for one sample first, then remember the mean. Large logits
(1000) must not overflow: subtract each row's maximum first, as the forward pass does.

Check your answer with ``python -m bpnet.exercises check 3 ex03_softmax.py``.
"""
import numpy as np


def softmax_cross_entropy(z, y):
    """Mean cross-entropy of logits z (n, C) against integer labels y (n,)."""
    z = z - z.max(axis=1, keepdims=True)  # stable: the row maximum changes nothing
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean()


def softmax_cross_entropy_backward(z, y):
    """dL/dz of softmax_cross_entropy, shape (n, C)."""
    raise NotImplementedError  # your code here
