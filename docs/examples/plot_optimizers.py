"""
SGD, momentum and Adam (the paper's Fig. 2)
===========================================

:Objective: compare SGD, SGD with momentum and Adam on the paper's network over several
    initialisations, and read training and test curves apart.
:Prerequisites: "Why SGD stalls at 0.1224".
:Time: 10 minutes (lab 2).

The paper trains its BP network with Adam after comparing it with plain stochastic
gradient descent and with SGD plus momentum (its Fig. 2). Here is the same comparison on
the synthetic faces' LPQ/PHOG features, with a held-out test set. Each optimiser trains
a *stack* of five networks from five different initialisations at once
(``n_models=5``), so the curves show the spread over initialisations, not one lucky
run. The update rules are ``torch.optim``'s, to the last rounding step.
"""
import matplotlib.pyplot as plt
import numpy as np

import bpnet
from bpnet.data.features import image_dataset_features
from bpnet.data.synthetic import synthetic_faces
from bpnet.splits import stratified_holdout
from bpnet.training import Curves, Rows, train

# %%
# Data: 210 synthetic faces, 10 features, a stratified 75/25 split
# -----------------------------------------------------------------
# The normalisation (with a log transform for skewed columns, as in the paper) is fitted
# on the training rows only.
data = image_dataset_features(synthetic_faces(n_per_class=30, seed=0), progress=False)
train_idx, test_idx = stratified_holdout(data.y, test_size=0.25, seed=0)
X = bpnet.Normalizer().fit(data.X[train_idx]).transform(data.X)
y = data.y
train_rows = np.isin(np.arange(len(y)), train_idx).astype(float)  # a row enters the loss
test_rows = 1.0 - train_rows                                      # or only the test curve
print(f"{len(train_idx)} training and {len(test_idx)} test faces, {X.shape[1]} features")

# %%
# Three optimisers, five networks each
# ------------------------------------
# The paper's network: 16 sigmoid hidden units, sigmoid outputs, mean squared error,
# full-batch training. Every optimiser starts from the same five initialisations.
settings = {
    "SGD (lr 0.5)": ("sgd", {"lr": 0.5}),
    "SGD + momentum 0.9 (lr 0.5)": ("sgd", {"lr": 0.5, "momentum": 0.9}),
    "Adam (lr 0.01)": ("adam", {"lr": 0.01}),
}
epochs = 500
curves = {}
for label, (name, kwargs) in settings.items():
    net = bpnet.BPNetwork(X.shape[1], 16, 7, hidden="sigmoid", output="sigmoid", loss="mse",
                          n_models=5, seed=0)
    log = train(net, Rows(X, y, train_rows, {"test": test_rows}),
                bpnet.make_optimizer(name, net.params, **kwargs), epochs, [Curves()])
    curves[label] = log.curves
    print(f"{label:<28} final training loss {log.curves['train_loss'][-1].mean():.4f}, "
          f"training accuracy {log.curves['train_accuracy'][-1].mean():.3f}, "
          f"test accuracy {log.curves['test_accuracy'][-1].mean():.3f}")

# %%
# The curves
# ----------
# All three first fall to the same plateau, an MSE of about 0.122: that is the loss of
# outputs that sit at the class frequencies, ``((6/7)**2 + 6 (1/7)**2) / 7``, a network
# that predicts the base rates (:ref:`sphx_glr_auto_examples_plot_sgd_plateau.py`
# derives it, 6/49 = 0.1224, and shows that such a network ignores its input). Plain SGD
# stays there for all 500 epochs; momentum leaves it slowly; Adam, which scales each
# weight's step by that weight's own gradient history, leaves it at once and keeps
# lowering the training loss (bands: the range over the five initialisations). On these
# weak features the test accuracy stays near chance (1/7) for all three: the optimiser
# decides how fast the training set is fitted, not what generalises. (The paper's BP
# network on its dataset 1 likewise reached 41 % training and 12 % test accuracy.)
fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.8))
epoch = np.arange(1, epochs + 1)
for label, c in curves.items():
    line, = ax.plot(epoch, c["train_loss"].mean(axis=1), label=label)
    ax.fill_between(epoch, c["train_loss"].min(axis=1), c["train_loss"].max(axis=1),
                    alpha=0.2, color=line.get_color())
    bx.plot(epoch, c["train_accuracy"].mean(axis=1), color=line.get_color())
    bx.plot(epoch, c["test_accuracy"].mean(axis=1), color=line.get_color(), ls=":")
ax.axhline(((6 / 7) ** 2 + 6 / 49) / 7, color="grey", lw=0.8, ls="--",
           label="base rates, 6/49 = 0.1224")
ax.set_ylabel("training loss (MSE)")
bx.axhline(1 / 7, color="grey", lw=0.8, ls="--")
bx.set_ylabel("accuracy: training (solid), test (dotted)")
for a in (ax, bx):
    a.set_xlabel("epoch")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
