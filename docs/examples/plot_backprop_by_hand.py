"""
Backpropagation by hand, for one pattern
========================================

:Objective: follow one pattern through the paper's network in matrix form, forward and
    backward, and check every array against ``bpnet`` and a finite difference.
:Prerequisites: "From one neuron to the matrix form"; exercise 1.
:Time: 10 minutes (lab 1).

The paper's network (sigmoid hidden layer, sigmoid outputs, mean squared error) is small
enough to follow one pattern through it number by number: the forward pass, the loss, and
the chain rule back to every weight. We then check each hand-computed array against
:meth:`bpnet.BPNetwork.loss_and_grads` and one of them against a finite difference, and
draw the network with every weight's gradient.
"""
import matplotlib.pyplot as plt
import numpy as np

import bpnet
from bpnet.activations import sigmoid

np.set_printoptions(precision=4, suppress=True)

# %%
# A 3-4-2 network and one pattern
# -------------------------------
# Three inputs, four hidden units, two classes; the pattern belongs to class 1, so its
# one-hot target is ``t = [0, 1]``.
net = bpnet.BPNetwork(3, 4, 2, hidden="sigmoid", output="sigmoid", loss="mse", seed=1)
W1, b1, W2, b2 = (net.params[k] for k in ("W1", "b1", "W2", "b2"))
x = np.array([[0.5, -1.0, 2.0]])  # one pattern, as a (1, 3) batch
y = np.array([1])
t = bpnet.one_hot(y, 2)
print("W1 =\n", W1, "\nb1 =", b1, "\nW2 =\n", W2, "\nb2 =", b2)

# %%
# Forward pass
# ------------
# Each layer is a weighted sum followed by the activation.
z1 = x @ W1 + b1          # hidden pre-activations   (1, 4)
a1 = sigmoid(z1)          # hidden outputs           (1, 4)
z2 = a1 @ W2 + b2         # output pre-activations   (1, 2)
out = sigmoid(z2)         # network outputs          (1, 2)
loss = np.mean((out - t) ** 2)  # MSE over the C = 2 outputs
print("z1  =", z1, "\na1  =", a1, "\nz2  =", z2, "\nout =", out, f"\nloss = {loss:.6f}")

# %%
# Backward pass
# -------------
# The chain rule, from the loss down. Every derivative of an activation is written from
# its output: the sigmoid's is ``a * (1 - a)``.
d_out = 2 * (out - t) / out.shape[1]   # dL/d out            (1, 2)
delta2 = d_out * out * (1 - out)       # dL/d z2             (1, 2)
dW2 = a1.T @ delta2                    # dL/d W2             (4, 2)
db2 = delta2.sum(axis=0)               # dL/d b2             (2,)
d_a1 = delta2 @ W2.T                   # dL/d a1             (1, 4)
delta1 = d_a1 * a1 * (1 - a1)          # dL/d z1             (1, 4)
dW1 = x.T @ delta1                     # dL/d W1             (3, 4)
db1 = delta1.sum(axis=0)               # dL/d b1             (4,)
print("dL/dout =", d_out, "\ndelta2  =", delta2, "\ndelta1  =", delta1)
print("dW2 =\n", dW2, "\ndW1 =\n", dW1)

# %%
# The same numbers from ``bpnet``
# -------------------------------
# :meth:`~bpnet.BPNetwork.loss_and_grads` runs exactly these lines (for a whole batch, and
# for a stack of networks).
loss_bp, grads = net.loss_and_grads(x, y)
mine = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
for name in mine:
    print(f"{name}: largest difference {np.abs(mine[name] - grads[name]).max():.1e}")
print(f"loss: {loss:.12f} by hand, {loss_bp:.12f} from bpnet")

# %%
# And from the definition of a derivative
# ---------------------------------------
# Nudge one weight up and down by a tiny ``eps`` and watch the loss: the central
# difference agrees with backprop to about eight digits. :func:`bpnet.gradcheck` does this
# for every weight.
eps = 1e-6
W1[0, 2] += eps
up = net.loss_value(x, y)
W1[0, 2] -= 2 * eps
down = net.loss_value(x, y)
W1[0, 2] += eps  # put it back
print(f"dL/dW1[0, 2]: backprop {dW1[0, 2]:.10f}, central difference {(up - down) / (2 * eps):.10f}")
print(bpnet.gradcheck(net, x, y))

# %%
# The picture
# -----------
# Nodes show their outputs, edges the gradient of their weight (red: increasing the
# weight increases the loss, so gradient descent will lower it; blue: the opposite;
# width: size). The error enters at output 0, whose target is 0, and at output 1, whose
# target is 1, and spreads back through ``W2`` to every hidden unit.
layers = [x[0], a1[0], out[0]]
names = ["input", "hidden", "output"]
pos = [np.column_stack([np.full(len(v), i), np.linspace(1, -1, len(v)) * (len(v) - 1) / 3])
       for i, v in enumerate(layers)]
fig, ax = plt.subplots(figsize=(7, 4.2))
scale = max(np.abs(dW1).max(), np.abs(dW2).max())
for (P, Q, dW) in ((pos[0], pos[1], dW1), (pos[1], pos[2], dW2)):
    for i, p in enumerate(P):
        for j, q in enumerate(Q):
            g = dW[i, j]
            ax.plot([p[0], q[0]], [p[1], q[1]], color="tab:red" if g > 0 else "tab:blue",
                    lw=0.5 + 6 * abs(g) / scale, alpha=0.8, zorder=1)
for P, values, name in zip(pos, layers, names):
    ax.scatter(P[:, 0], P[:, 1], s=900, c="white", edgecolors="black", zorder=2)
    for (u, v), value in zip(P, values):
        ax.text(u, v, f"{value:.2f}", ha="center", va="center", fontsize=8, zorder=3)
    ax.text(P[0, 0], 1.25, name, ha="center", fontsize=10)
for j, (u, v) in enumerate(pos[2]):
    ax.text(u + 0.2, v, f"target {t[0, j]:.0f}", va="center", fontsize=8)
ax.set_xlim(-0.3, 2.8)
ax.set_ylim(-1.3, 1.4)
ax.axis("off")
ax.set_title("One pattern: outputs on the nodes, dL/dW on the edges")
plt.show()
