"""Exercise 7: one step of Adam.

Objective: implement Adam's update with its bias correction, exactly as
    ``torch.optim.Adam`` does it, and see what each piece is for.
Prerequisites: gradient descent; exponential moving averages; the gallery example
    "SGD, momentum and Adam".
Time: 20 minutes.

Implement one step of Adam (Kingma & Ba, 2015) as ``torch.optim.Adam`` does it, the
rule in ``bpnet.Adam``'s docstring: update the moments, correct their bias, and add
``eps`` to ``sqrt(v_hat)``, not inside the square root. The check runs 100 steps of your
function beside ``bpnet.Adam`` and compares the two trajectories, then tests the first
step (which the bias correction decides) and tiny gradients (where ``eps`` decides).

Check your answer with ``python -m bpnet.exercises check 7 ex07_adam.py``.
"""
import numpy as np  # noqa: F401 (you may need it)


def adam_step(p, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """One Adam step at step number t (1, 2, ...): returns the new (p, m, v)."""
    raise NotImplementedError  # your code here
