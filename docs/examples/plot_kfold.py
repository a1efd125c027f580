"""
The k-fold engine: every fold trained at once
=============================================

:Objective: understand how k-fold cross-validation trains all folds as one stacked
    network, with per-fold normalisation and nothing leaking from the test fold.
:Prerequisites: "SGD, momentum and Adam".
:Time: 10 minutes (further reading, not in the labs).

The paper scores its BP network by k-fold cross-validation: split the data into K folds,
train on K - 1 of them, test on the one left out, K times. :func:`bpnet.cross_validate`
trains the K networks as *one* stacked network (``n_models=K``): every parameter gets a
leading K axis, one ``matmul`` runs all folds, and a 0/1 weight per sample and fold
decides which rows each network learns from and which it is scored on. Each fold's
inputs are normalised with its own training rows' statistics, so nothing leaks from the
test fold.
"""
import matplotlib.pyplot as plt
import numpy as np

import bpnet
from bpnet.data.features import image_dataset_features
from bpnet.data.synthetic import synthetic_faces
from bpnet.metrics import format_table
from bpnet.splits import fold_masks, group_kfold, stratified_kfold

# %%
# Two ways to split
# -----------------
# 210 synthetic faces of 30 people, each showing all seven expressions. A *stratified*
# split keeps the class proportions in every fold, but puts a person's other faces into
# training while one of them is tested. A *group* split keeps each person's faces
# together (person-independent), as real applications need. Each row below is a fold,
# each column a face (sorted by person); a dark cell is a test face of that fold.
data = image_dataset_features(synthetic_faces(n_per_class=30, seed=0), progress=False)
X, y, people = data.X, data.y, data.groups
K = 10
splits = {"stratified": stratified_kfold(y, n_splits=K, seed=0),
          "group (by person)": group_kfold(y, people, n_splits=K, seed=0)}
order = np.lexsort((y, people))
fig, axes = plt.subplots(2, 1, figsize=(9, 3.4), sharex=True)
for ax, (name, split) in zip(axes, splits.items()):
    _, test_mask = fold_masks(split, len(y))
    ax.imshow(test_mask[:, order], aspect="auto", cmap="Greys", interpolation="nearest")
    ax.set_ylabel("fold")
    ax.set_title(f"{name}: test faces per fold", fontsize=9)
axes[1].set_xlabel("face (sorted by person, 7 faces each)")
fig.tight_layout()
plt.show()

# %%
# Ten networks, one training run
# ------------------------------
# Same network and optimiser as :class:`~bpnet.BPClassifier` takes them. The result holds
# out-of-fold predictions, per-fold confusion matrices and per-epoch curves of shape
# ``(epochs, K)``.
results = {}
for name, split in splits.items():
    res = bpnet.cross_validate(X, y, split, n_hidden=16, optimizer="adam", lr=0.01,
                               epochs=300, random_state=0)
    results[name] = res
    s = res.summary()
    print(f"{name:<18} test accuracy {s['test_accuracy_mean']:.3f} +- "
          f"{s['test_accuracy_std']:.3f}, training accuracy {s['train_accuracy_mean']:.3f}")

# %%
# The paper's table for the group split: per-class precision, recall, specificity and F1
# of the pooled confusion matrix (the sum over folds).
print(format_table(results["group (by person)"].pooled, data.class_names))

# %%
# Learning curves of every fold
# -----------------------------
# Thin lines: each fold's test accuracy after every epoch; thick: their mean, and the
# mean training accuracy. On ten LPQ/PHOG features the BP network fits its training folds
# ever better while every test fold stays near chance, under both splits: the features,
# not the training, limit it (as in the paper; the BP-vs-ResNet example shows what the
# pixels themselves hold). The two splits measure different things: the stratified one
# tests faces of people the network has seen, the group one only new people.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, (name, res) in zip(axes, results.items()):
    epochs = np.arange(1, len(res.curves["test_accuracy"]) + 1)
    ax.plot(epochs, res.curves["test_accuracy"], color="tab:blue", lw=0.5, alpha=0.5)
    ax.plot(epochs, res.curves["test_accuracy"].mean(axis=1), color="tab:blue", lw=2,
            label="test (mean of folds)")
    ax.plot(epochs, res.curves["train_accuracy"].mean(axis=1), color="tab:orange", lw=2,
            label="training (mean of folds)")
    ax.axhline(1 / 7, color="grey", lw=0.8, ls="--", label="chance")
    ax.set_title(name)
    ax.set_xlabel("epoch")
axes[0].set_ylabel("accuracy")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# ``bpnet cv`` runs the same engine from the command line (``--split group``, ``--prune``
# for the paper's pruning loop on every fold). That fold k of the stack equals fold k
# trained alone from the same initial weights is checked by the tests; how much faster
# the stack is than a loop over folds is measured by ``benchmarks/bench_kfold.py``.
