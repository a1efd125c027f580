"""
Distinctiveness pruning, with and without compensation
======================================================

:Objective: recognise the three kinds of redundant unit (duplicate, complement,
    constant), and measure what compensation saves and why merging incoming weights fails.
:Prerequisites: "Pruning, before and after"; exercise 8.
:Time: 10 minutes (lab 2).

Distinctiveness pruning (Gedeon & Harris, 1991; the paper's method) looks at what every
hidden unit outputs over the training patterns, its *activation vector*, and removes
units that add nothing distinct: a unit that is (almost) constant, and one of two units
whose vectors are strongly correlated (the same function) or anti-correlated (opposite
functions). Removing a unit changes the network's outputs unless its contribution is
moved onto a unit that stays: *compensation*. This example plants one redundant unit of
each kind in a trained network, looks at the activation vectors, and measures how much
the outputs move when the units go, with and without compensation, and with the wrong
kind of merge.
"""
import matplotlib.pyplot as plt
import numpy as np

import bpnet
from bpnet.activations import sigmoid
from bpnet.data.features import image_dataset_features
from bpnet.data.synthetic import synthetic_faces
from bpnet.pruning import DistinctivenessPruner, unit_statistics
from bpnet.training import train

# %%
# A trained network, and three planted units
# ------------------------------------------
# The paper's network (sigmoid units, MSE) trained on the synthetic faces' LPQ/PHOG
# features. Training rarely leaves exact duplicates behind, so to show every case we give
# the trained network's eight units three partners that share their work without
# changing a single output: unit 8 copies unit 0's incoming weights and takes half of its
# outgoing ones (a duplicate, ``h8 = h0``); unit 9 negates unit 1's incoming weights
# (``h9 = sigmoid(-z1) = 1 - h1``, a complement) and takes over half of its job with the
# opposite sign; unit 10 ignores its inputs behind a large bias (always ``sigmoid(6)``,
# about 1), and the output bias pays for what it adds.
data = image_dataset_features(synthetic_faces(n_per_class=30, seed=0), progress=False)
X, y = bpnet.Normalizer().fit(data.X).transform(data.X), data.y
small = bpnet.BPNetwork(X.shape[1], 8, 7, seed=0)
train(small, (X, y), bpnet.Adam(small.params, lr=0.01), epochs=300)


def widen(net, w_in, b_in, w_out):
    """A copy of ``net`` with more hidden units: incoming (d, m), biases (m,), outgoing (m, C)."""
    wide = bpnet.BPNetwork(net.n_inputs, net.n_hidden + len(b_in), net.n_outputs)
    q = net.params
    wide.params.update(W1=np.hstack([q["W1"], w_in]), b1=np.concatenate([q["b1"], b_in]),
                       W2=np.vstack([q["W2"], w_out]), b2=q["b2"].copy())
    return wide


rng = np.random.default_rng(0)
q = small.params
half0, half1, v = q["W2"][0] / 2, q["W2"][1] / 2, rng.normal(scale=0.5, size=7)
net = widen(small, w_in=np.column_stack([q["W1"][:, 0], -q["W1"][:, 1], np.zeros(X.shape[1])]),
            b_in=np.array([q["b1"][0], -q["b1"][1], 6.0]), w_out=np.vstack([half0, -half1, v]))
p = net.params
p["W2"][0] -= half0  # units 0 and 8 share unit 0's old job
p["W2"][1] -= half1  # w h1 = (w/2) h1 - (w/2)(1 - h1) + w/2: the bias gets w/2
p["b2"] += half1 - v * sigmoid(6.0)  # and pays for unit 10's constant output
print(f"11 units vs the 8 trained ones: largest output difference "
      f"{np.abs(net.forward(X) - small.forward(X)).max():.1e}, "
      f"accuracy {np.mean(net.predict(X) == y):.3f}")

# %%
# The activation vectors
# ----------------------
# Plot one unit's outputs over the training patterns against another's. A duplicate lies
# on the diagonal, a complement on the anti-diagonal, two distinct units fill a cloud,
# and a constant unit is a flat line: it only shifts the output layer's bias. On the
# right, the correlations between all units' activation vectors, the paper's test for
# "same or opposite" (``|r| > 0.9``); the constant unit has no correlation (grey), the
# sum test catches it instead.
A = net.hidden_activations(X)
stats = unit_statistics(A)
fig = plt.figure(figsize=(12.5, 3.2))
grid = fig.add_gridspec(1, 5, width_ratios=[1, 1, 1, 1, 1.5])
for k, (i, j, title) in enumerate(((0, 8, "duplicate"), (1, 9, "complement"),
                                   (2, 3, "distinct"))):
    ax = fig.add_subplot(grid[k])
    ax.scatter(A[:, i], A[:, j], s=6)
    ax.set(xlim=(-0.05, 1.05), ylim=(-0.05, 1.05), xlabel=f"h{i}", ylabel=f"h{j}",
           title=f"{title}: r = {stats['corr'][i, j]:.2f}")
ax = fig.add_subplot(grid[3])
ax.plot(A[:, 10], ".", ms=3)
ax.set(ylim=(-0.05, 1.05), xlabel="pattern", ylabel="h10",
       title=f"constant: sum {stats['sums'][10]:.0f} of {len(X)}")
ax = fig.add_subplot(grid[4])
corr = np.ma.masked_invalid(stats["corr"])
image = ax.imshow(corr, cmap=plt.get_cmap("RdBu_r").with_extremes(bad="lightgrey"),
                  vmin=-1, vmax=1)
ax.set(title="r of all pairs", xlabel="unit", ylabel="unit")
fig.colorbar(image, ax=ax, shrink=0.8)
fig.tight_layout()
plt.show()

# %%
# Removing them, with and without compensation
# --------------------------------------------
# The output layer is linear in the hidden outputs, ``z = sum_i h_i W2[i] + b2``. If the
# removed unit behaves like ``h_j = a h_i + c``, adding ``a W2[j]`` to the kept unit's
# *outgoing* weights and ``c W2[j]`` to ``b2`` leaves ``z`` unchanged. That is
# ``DistinctivenessPruner(compensate=True)``; ``compensate=False`` is the paper's plain
# deletion. One unit goes per round (the paper's rule): first the constant one, then the
# most strongly correlated pair, keeping the lower-numbered unit of a pair. We prune until
# no unit qualifies and follow the largest change of any output after each round.
before = net.forward(X)
for compensate in (False, True):
    pruned, pruner = net.copy(), DistinctivenessPruner(compensate=compensate)
    print(f"compensate={compensate}")
    while records := pruner.prune(pruned, X):
        rec = records[0]
        partner = "" if rec.partner is None else f", partner unit {rec.partner}"
        print(f"  removed unit {rec.unit} ({rec.reason}{partner}): largest output change "
              f"{np.abs(pruned.forward(X) - before).max():.1e}")
    print(f"  {pruned.n_hidden} units left, accuracy {np.mean(pruned.predict(X) == y):.3f}")

# %%
# Why merging *incoming* weights is wrong
# ---------------------------------------
# A tempting shortcut merges two units into one by averaging their incoming weights
# (``W1`` columns) and adding their outgoing ones. That changes ``h_i`` itself, through
# the sigmoid, instead of the linear sum the two units feed to the output layer. It is
# exact only for identical units. For the complementary pair it is a disaster:
# ``W1[:, 1]`` and ``W1[:, 9] = -W1[:, 1]`` average to zero, and the merged unit outputs a
# constant 0.5. The outgoing rule is exact whenever ``h_j`` is a linear function of
# ``h_i``, which covers duplicates, complements and constants. (For units that are only
# similar, ``|r| > 0.9`` but not 1, neither merge is exact, and retraining after the
# pruning round repairs what is lost.)


def drop(net, j):
    """Remove hidden unit j (its W1 column, b1 entry and W2 row)."""
    keep = np.arange(net.n_hidden) != j
    p = net.params
    p["W1"], p["b1"], p["W2"] = p["W1"][:, keep], p["b1"][keep], p["W2"][keep]
    return net


def merge_incoming(net, i, j):
    """The wrong merge: average the W1 columns and biases, add the W2 rows, drop unit j."""
    net = net.copy()
    p = net.params
    p["W1"][:, i] = (p["W1"][:, i] + p["W1"][:, j]) / 2
    p["b1"][i] = (p["b1"][i] + p["b1"][j]) / 2
    p["W2"][i] += p["W2"][j]
    return drop(net, j)


def merge_outgoing(net, i, j):
    """Compensation for h_j = a h_i + c, with a and c fitted by least squares, then drop j."""
    net = net.copy()
    p, H = net.params, net.hidden_activations(X)
    a, c = np.polyfit(H[:, i], H[:, j], 1)
    p["W2"][i] += a * p["W2"][j]
    p["b2"] += c * p["W2"][j]
    return drop(net, j)


results = {}
for label, (i, j) in {"duplicate (0, 8)": (0, 8), "complement (1, 9)": (1, 9)}.items():
    results[label] = [max(np.abs(merge(net, i, j).forward(X) - before).max(), 1e-17)
                      for merge in (merge_outgoing, merge_incoming)]
    print(f"{label}: largest output change, outgoing rule {results[label][0]:.1e}, "
          f"incoming merge {results[label][1]:.1e}")

fig, ax = plt.subplots(figsize=(6, 3.2))
width = 0.38
for k, name in enumerate(("outgoing weights (compensation)", "incoming weights (wrong)")):
    ax.bar(np.arange(len(results)) + (k - 0.5) * width, [v[k] for v in results.values()],
           width, label=name)
ax.set_yscale("log")
ax.set_xticks(np.arange(len(results)), list(results))
ax.set_ylabel("largest change of an output")
ax.legend(fontsize=8)
ax.set_title("Merging a redundant unit into its partner")
fig.tight_layout()
plt.show()
