"""
A 2-D toy problem: the decision boundary as training goes on
============================================================

:Objective: see what a hidden layer buys (a curved decision boundary), and how the
    boundary forms during training, phase by phase.
:Prerequisites: what a neuron, an epoch and a learning rate are.
:Time: 10 minutes (lab 1, first).

Facial-expression features have too many dimensions to look at. Two interleaved half
moons (:func:`bpnet.teaching.two_moons`) have two: no straight line separates the
classes, so the network has to bend its boundary, and we can watch it do so. The same
network class as in the paper (sigmoid hidden units, sigmoid outputs, mean squared
error) trains with Adam; we stop after a few epochs, draw the boundary, and continue
with the same optimiser, so each panel is one phase of the same run.
"""
import matplotlib.pyplot as plt
import numpy as np

import bpnet
from bpnet.teaching import two_moons
from bpnet.training import train

# %%
# Data and network
# ----------------
# 300 points, 2 classes; 8 sigmoid hidden units.
X, y = two_moons(n=300, noise=0.12, seed=0)
net = bpnet.BPNetwork(2, 8, 2, hidden="sigmoid", output="sigmoid", loss="mse", seed=0)
optimizer = bpnet.Adam(net.params, lr=0.02)
grid_x, grid_y = np.meshgrid(np.linspace(-2.5, 2.5, 200), np.linspace(-2.5, 2.5, 200))
grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])

# %%
# Training in phases
# ------------------
# After each phase we store the network's output for class 1 minus its output for class
# 0 over a grid of points: the decision boundary is where that difference is zero.
phases = [0, 10, 40, 150, 500, 1500]  # epochs at the end of each phase
snapshots, done = [], 0
for end in phases:
    if end > done:  # the same optimiser goes on: its moments carry over between phases
        train(net, (X, y), optimizer, end - done)
    done = end
    out = net.forward(grid)
    loss = net.loss_value(X, y)
    accuracy = np.mean(net.predict(X) == y)
    snapshots.append((end, (out[:, 1] - out[:, 0]).reshape(grid_x.shape), loss, accuracy))
    print(f"epoch {end:>4}: loss {loss:.4f}, training accuracy {accuracy:.3f}")

# %%
# The picture
# -----------
# At epoch 0 the random network outputs nearly the same for every point. The first
# phases learn the best *straight* cut, a line through the middle that gets about 85 %
# right, because the easiest way down the loss is the direction along which the classes
# differ most. Only then do the hidden units bend the boundary around the tips of the
# moons, and the last phases sharpen it. This "simple first, detail later" order is
# typical of gradient descent, and it is why stopping early gives smoother boundaries.
fig, axes = plt.subplots(2, 3, figsize=(10, 6.6), sharex=True, sharey=True)
for ax, (epoch, margin, loss, accuracy) in zip(axes.ravel(), snapshots):
    ax.contourf(grid_x, grid_y, margin, levels=np.linspace(-1, 1, 21), cmap="RdBu_r",
                alpha=0.6)
    ax.contour(grid_x, grid_y, margin, levels=[0], colors="black", linewidths=1.5)
    ax.scatter(*X[y == 0].T, s=8, c="tab:blue", edgecolors="white", linewidths=0.3)
    ax.scatter(*X[y == 1].T, s=8, c="tab:red", edgecolors="white", linewidths=0.3)
    ax.set_title(f"after {epoch} epochs: loss {loss:.3f}, acc. {accuracy:.2f}", fontsize=9)
    ax.set_aspect("equal")
fig.suptitle("Decision boundary (black) of a 2-8-2 sigmoid network trained with Adam")
fig.tight_layout()
plt.show()
