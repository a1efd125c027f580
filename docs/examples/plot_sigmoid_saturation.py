"""
Sigmoid saturation: units that stop learning
============================================

:Objective: recognise saturated sigmoid units in their activation histogram, explain
    with the derivative ``a (1 - a)`` why their gradients vanish, and see what that does
    to the layer below them.
:Prerequisites: "From one neuron to the matrix form"; the toy problem example.
:Time: 10 minutes (lab 1 extension).

The sigmoid's derivative, written from its output, is ``a (1 - a)``: at most 0.25 (at
``a = 0.5``), and almost 0 when the unit's output sits near 0 or 1. A unit whose
weighted input ``z = x W1 + b1`` is large in magnitude is *saturated*: its output hardly
moves when its weights change, so backpropagation hands its incoming weights almost no
gradient. Two usual causes are large initial weights and inputs on a large scale (raw
pixel values, counts, features in the wrong units), which enlarge ``z`` alike. Here the
same network trains with the same plain SGD on the two-moons problem twice: from the
default initialisation, and with the initial ``W1`` and ``b1`` multiplied by 30.
"""
import matplotlib.pyplot as plt
import numpy as np

import bpnet
from bpnet.callbacks import OnEpoch
from bpnet.teaching import two_moons
from bpnet.training import train

X, y = two_moons(n=300, seed=0)
epochs, shown = 1000, (0, 100, 1000)  # histograms after these epochs

# %%
# Training, with a record of the gradients
# ----------------------------------------
# After every epoch we note the root-mean-square gradient of each layer's weights, how
# far ``W1`` has moved from where it started (relative to its size), and the fraction of
# hidden outputs that are saturated (below 0.02 or above 0.98, where ``a (1 - a) < 0.02``,
# less than a tenth of its largest value).
records, hidden = {}, {}
for label, scale in {"default initialisation": 1.0, "initial W1, b1 x 30": 30.0}.items():
    net = bpnet.BPNetwork(2, 8, 2, hidden="sigmoid", output="sigmoid", loss="mse", seed=0)
    net.params["W1"] *= scale
    net.params["b1"] *= scale
    W1_start = net.params["W1"].copy()
    hidden[label] = {0: net.hidden_activations(X).ravel()}
    rec = {"W1": [], "W2": [], "moved": [], "saturated": []}

    def record(epoch, values, net=net, rec=rec, W1_start=W1_start, label=label):
        _, grads = net.loss_and_grads(X, y)
        for name in ("W1", "W2"):
            rec[name].append(np.sqrt(np.mean(grads[name] ** 2)))
        rec["moved"].append(np.abs(net.params["W1"] - W1_start).max() / np.abs(W1_start).max())
        A = net.hidden_activations(X)
        rec["saturated"].append(np.mean((A < 0.02) | (A > 0.98)))
        if epoch in shown:
            hidden[label][epoch] = A.ravel()

    train(net, (X, y), bpnet.SGD(net.params, lr=0.5), epochs, [OnEpoch(record)])
    records[label] = rec
    print(f"{label:<23} accuracy {np.mean(net.predict(X) == y):.3f}, loss "
          f"{net.loss_value(X, y):.4f}, saturated outputs {rec['saturated'][-1]:.0%}, "
          f"W1 moved by {rec['moved'][-1]:.1%} of its largest entry")

# %%
# The hidden units' outputs over the epochs
# -----------------------------------------
# Histograms of all hidden outputs over the 300 points, at three moments. From the
# default initialisation they spread over the range where the sigmoid's slope is large,
# and training moves them. With large initial weights they pile up at 0 and 1 from the
# start and stay there: each unit is a step function of the input.
fig, axes = plt.subplots(2, 3, figsize=(10, 4.6), sharex=True)
for row, (label, snaps) in zip(axes, hidden.items()):
    for ax, epoch in zip(row, shown):
        ax.hist(snaps[epoch], bins=np.linspace(0, 1, 26),
                color="tab:blue" if label.startswith("default") else "tab:orange")
        ax.set_title(f"{label}, epoch {epoch}", fontsize=9)
for ax in axes[1]:
    ax.set_xlabel("hidden output a")
fig.tight_layout()
plt.show()

# %%
# The gradients, layer by layer
# -----------------------------
# Left, the root-mean-square gradient of ``W1`` (input to hidden, solid) and ``W2``
# (hidden to output, dotted), on a log scale. Every gradient of ``W1`` carries the factor
# ``a (1 - a)`` of its unit, so with saturated units the first layer's gradient starts
# an order of magnitude below the default run's, while the output layer's is not
# smaller at all. Right: the default run's ``W1`` moves by more than its own size; the
# saturated run's by about one per cent. Its hidden layer has stopped learning: only the
# output layer learns, on top of eight fixed random step functions. On this easy problem
# that still separates the moons about as well (the printed accuracies), which is why
# saturation is easy to miss; a problem that needs the features to be learned does not
# forgive it. The cures: small initial weights scaled by the number of inputs (what
# ``BPNetwork`` does), and normalised inputs (:class:`bpnet.Normalizer`).
fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.4))
epoch = np.arange(1, epochs + 1)
for label, rec in records.items():
    color = "tab:blue" if label.startswith("default") else "tab:orange"
    ax.plot(epoch, rec["W1"], color=color, label=f"W1, {label}")
    ax.plot(epoch, rec["W2"], color=color, ls=":", label=f"W2, {label}")
    bx.plot(epoch, rec["moved"], color=color, label=label)
ax.set(yscale="log", xlabel="epoch", ylabel="RMS gradient", title="gradient per layer")
bx.set(yscale="log", xlabel="epoch", ylabel="largest change of W1 / largest |W1|",
       title="how far the first layer has moved")
ax.legend(fontsize=7)
bx.legend(fontsize=7)
fig.tight_layout()
plt.show()
