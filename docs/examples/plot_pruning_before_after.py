"""
Pruning, before and after: the angle matrix and the network
===========================================================

:Objective: read Gedeon's angle matrix, find the pairs the 15 and 165 degree thresholds
    catch, and check that the network still computes the same function after the
    redundant units are merged away.
:Prerequisites: the angle between two vectors; the documentation page on pruning.
:Time: 10 minutes (lab 2).

On the paper's SFEW features the distinctiveness rule removes only about one unit in
three folds: the units of a small network trained on weak features are rarely
redundant. To see the rule at work we need a setting where it bites: a network with far
more hidden units than the problem needs. The two-moons problem is solved by a handful
of units, so a network with 12 learns several copies (similar) and mirror images
(complementary) of the same few features.
"""
import matplotlib.pyplot as plt
import numpy as np

import bpnet
from bpnet.pruning import DistinctivenessPruner, unit_statistics
from bpnet.teaching import two_moons
from bpnet.training import train

X, y = two_moons(n=300, seed=0)
net = bpnet.BPNetwork(2, 12, 2, hidden="sigmoid", output="sigmoid", loss="mse", seed=0)
train(net, (X, y), bpnet.Adam(net.params, lr=0.02), 1500)
print(f"12 hidden units, training accuracy {np.mean(net.predict(X) == y):.3f}")

# %%
# Pruning until no unit qualifies
# -------------------------------
# Gedeon's angle criterion (vectors centred at 0.5; similar at most 15 degrees,
# complementary at least 165), one unit per round, with compensation: the removed unit's
# outgoing weights move onto its partner and the output bias. We follow the units by
# their original numbers (the pruner renumbers the ones that stay).
pruned = net.copy()
pruner = DistinctivenessPruner(criterion="angle", compensate=True)
alive, removed = list(range(net.n_hidden)), {}
while records := pruner.prune(pruned, X):
    rec = records[0]
    partner = None if rec.partner is None else alive[rec.partner]
    unit = alive.pop(rec.unit)
    removed[unit] = (rec.reason, partner)
    print(f"removed unit {unit:>2}: {rec.reason:<13} ({rec.statistic:6.1f}"
          f"{' degrees' if partner is not None else ''}), partner "
          f"{'-' if partner is None else partner}")
change = np.abs(pruned.forward(X) - net.forward(X)).max()
print(f"{pruned.n_hidden} units left; accuracy {np.mean(pruned.predict(X) == y):.3f}; "
      f"largest change of an output {change:.2e}")

# %%
# The angle matrix
# ----------------
# Left: the angle between every pair of the trained network's activation vectors. Blue
# pairs point the same way, red ones opposite ways; the colour bar marks the two
# thresholds. Right: the same angles, one dot per pair, with the 15 and 165 degree lines:
# every dot outside the band between them is a candidate. Removing a unit takes all its
# pairs with it, so fewer units go than there are dots outside the band.
angle = unit_statistics(net.hidden_activations(X))["angle"]
fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2), width_ratios=[1, 1.3])
image = ax.imshow(angle, cmap="RdBu_r", vmin=0, vmax=180)
bar = fig.colorbar(image, ax=ax, shrink=0.85, label="angle (degrees)")
for threshold in (15, 165):
    bar.ax.axhline(threshold, color="black", lw=2)
ax.set(xticks=range(12), yticks=range(12), xlabel="unit", ylabel="unit",
       title="angles between activation vectors")
i, j = np.triu_indices(12, k=1)
pairs = angle[i, j]
colors = np.where(pairs <= 15, "tab:blue", np.where(pairs >= 165, "tab:red", "grey"))
bx.scatter(np.arange(len(pairs)), pairs, c=colors, s=14)
for threshold, name in ((15, "similar: at most 15"), (165, "complementary: at least 165")):
    bx.axhline(threshold, color="black", lw=1, ls="--")
    bx.text(len(pairs) - 1, threshold + (4 if threshold < 90 else -10), name, ha="right",
            fontsize=8)
bx.set(ylim=(0, 180), xlabel="pair (i, j), i < j", ylabel="angle (degrees)",
       title=f"{np.sum(pairs <= 15)} similar and {np.sum(pairs >= 165)} complementary pairs")
fig.tight_layout()
plt.show()


# %%
# The network, before and after
# -----------------------------
# Nodes are units, edge widths the size of the weights (red positive, blue negative).
# After pruning, the removed units are grey, and the kept units' outgoing weights have
# grown by what their removed partners contributed. The decision boundary drawn under
# each network hardly moves, and every training point keeps its class: the pairs are
# close to (not exactly) copies and mirror images, so compensation keeps the function
# up to the small change printed above, which retraining would then repair.
def draw(ax, params, units, gone):
    """Draw a 2-H-2 network: ``units`` the original numbers of the columns of ``params``,
    ``gone`` the removed units (grey, their old connections dotted)."""
    H = len(units) + len(gone)
    pos = {("in", k): (0, 0.6 - 1.2 * k) for k in range(2)}
    pos.update({("h", u): (1, 1.5 - 3 * u / (H - 1)) for u in range(H)})
    pos.update({("out", k): (2, 0.6 - 1.2 * k) for k in range(2)})
    scale = max(np.abs(params["W1"]).max(), np.abs(params["W2"]).max())
    for col, u in enumerate(units):
        for k in range(2):
            for (a, b), w in (((("in", k), ("h", u)), params["W1"][k, col]),
                              ((("h", u), ("out", k)), params["W2"][col, k])):
                ax.plot(*zip(pos[a], pos[b]), color="tab:red" if w > 0 else "tab:blue",
                        lw=0.3 + 4 * abs(w) / scale, alpha=0.7, zorder=1)
    for u in gone:  # the removed units' old connections, faint
        for k in range(2):
            ax.plot(*zip(pos[("in", k)], pos[("h", u)], pos[("out", k)]), color="lightgrey",
                    lw=0.6, ls=":", zorder=0)
    for key, (u, v) in pos.items():
        grey = key[0] == "h" and key[1] in gone
        ax.scatter(u, v, s=260, c="lightgrey" if grey else "white",
                   edgecolors="grey" if grey else "black", zorder=2)
        if key[0] == "h":
            ax.text(u, v, str(key[1]), ha="center", va="center", fontsize=7,
                    color="grey" if grey else "black", zorder=3)
    ax.axis("off")


grid_x, grid_y = np.meshgrid(np.linspace(-2.5, 2.5, 150), np.linspace(-2.5, 2.5, 150))
grid = np.column_stack([grid_x.ravel(), grid_y.ravel()])
fig, axes = plt.subplots(2, 2, figsize=(9, 7.5), height_ratios=[1.3, 1])
for col, (model, units, gone, title) in enumerate((
        (net, list(range(12)), set(), "before: 12 hidden units"),
        (pruned, alive, set(removed), f"after: {pruned.n_hidden} units (grey: removed)"))):
    draw(axes[0, col], model.params, units, gone)
    axes[0, col].set_title(title)
    out = model.forward(grid)
    margin = (out[:, 1] - out[:, 0]).reshape(grid_x.shape)
    axes[1, col].contourf(grid_x, grid_y, margin, levels=np.linspace(-1, 1, 21),
                          cmap="RdBu_r", alpha=0.6)
    axes[1, col].contour(grid_x, grid_y, margin, levels=[0], colors="black")
    axes[1, col].scatter(*X.T, c=np.where(y == 1, "tab:red", "tab:blue"), s=5)
    axes[1, col].set(aspect="equal", title="decision boundary")
fig.tight_layout()
plt.show()
