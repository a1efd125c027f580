"""
BP network on features vs ResNet on pixels
==========================================

:Objective: see how the two branches of the project are compared fairly: same faces,
    same person-independent folds, same metrics.
:Prerequisites: "The k-fold engine"; PyTorch installed.
:Time: 10 minutes (further reading, not in the labs).

The paper's two branches on the same faces and the same person-independent folds: the
BP network sees ten numbers per face (the first five principal components of LPQ and of
PHOG descriptors, the paper's dataset 1), the ResNet sees the image. Both are scored on
the same test faces, with the same metrics.

Everything is shrunk to run in seconds on a CPU (420 synthetic faces of 64 px, three
folds, a ResNet of width 8 trained for 10 epochs), so the numbers show the shape of the
comparison, not its size: ``resnet-fer train`` and ``bpnet cv`` run the real thing.
This example needs PyTorch (``pip install ".[torch]"``).
"""
import matplotlib.pyplot as plt
import numpy as np
import torch

import bpnet
from bpnet.data.features import image_dataset_features
from bpnet.data.synthetic import synthetic_faces
from bpnet.metrics import accuracy_mean_std, format_table, per_class_metrics, pool_confusion
from bpnet.splits import group_kfold
from resnet_fer.config import AugmentConfig, TrainConfig
from resnet_fer.train import cross_validate as resnet_cross_validate

torch.set_num_threads(1)  # tiny convolutions: one thread is fastest, and leaves a core free

# %%
# The faces, their features, and one set of splits
# ------------------------------------------------
# 60 faces per expression from 60 people; three folds that never split a person.
faces = synthetic_faces(n_per_class=60, size=64, seed=0)
features = image_dataset_features(faces, progress=False)
splits = group_kfold(faces.y, faces.groups, n_splits=3, seed=0)
print(f"{len(faces)} faces, images {faces.images.shape}, features {features.X.shape}, "
      f"test folds of {[len(te) for _, te in splits]} faces")

# %%
# The BP network on the features
# ------------------------------
# All three folds train at once as one stacked network (see the k-fold example).
bp = bpnet.cross_validate(features.X, features.y, splits, n_hidden=16, optimizer="adam",
                          lr=0.01, epochs=300, random_state=0)
bp_mean, bp_std = accuracy_mean_std(bp.confusions)
print(f"BP network: test accuracy {bp_mean:.3f} +- {bp_std:.3f}, "
      f"training accuracy {bp.summary()['train_accuracy_mean']:.3f}")

# %%
# The ResNet on the pixels
# ------------------------
# A tiny configuration of the same model and recipe: width 8 instead of 64, 64 px
# inputs, light augmentation (no mixup or cutmix), 10 epochs. On a GPU ``resnet-fer
# train`` runs the full recipe.
config = TrainConfig(epochs=10, batch_size=32, lr=3e-3, size=64, width=8, stem="imagenet",
                     dropout=0.1, label_smoothing=0.0, compile=False, amp=False,
                     channels_last=False,
                     augment=AugmentConfig(scale=(0.7, 1.0), degrees=5.0, mixup=0.0, cutmix=0.0))
resnet = resnet_cross_validate(faces.images, faces.y, splits, config, device="cpu",
                               progress=False)
rn_mean, rn_std = accuracy_mean_std(resnet.confusions)
print(f"ResNet: test accuracy {rn_mean:.3f} +- {rn_std:.3f}, training accuracy "
      f"{np.mean([f.train_accuracy for f in resnet.folds]):.3f}")



def fold_accuracy(confusions):
    """Test accuracy of every fold, from its (C, C) confusion matrix."""
    return np.trace(confusions, axis1=1, axis2=2) / confusions.sum(axis=(1, 2))


# %%
# Test curves on the same folds
# -----------------------------
# Per epoch, each fold's test accuracy (thin) and their mean (thick). The BP network's
# epochs are full-batch steps; the ResNet's are passes over mini-batches of augmented
# images. The paper found the BP network under-fitting its weak features and the ResNet
# over-fitting its images; at this toy size the ResNet has not yet had time to over-fit.
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1.2, 1.2, 0.8]})
ax = axes[0]
bp_epochs = np.arange(1, bp.curves["test_accuracy"].shape[0] + 1)
ax.plot(bp_epochs, bp.curves["test_accuracy"], color="tab:blue", lw=0.6, alpha=0.5)
ax.plot(bp_epochs, bp.curves["test_accuracy"].mean(axis=1), color="tab:blue", lw=2, label="test")
ax.plot(bp_epochs, bp.curves["train_accuracy"].mean(axis=1), color="tab:blue", ls=":",
        label="training")
ax.set_title("BP network on 10 features")
ax = axes[1]
rn_test, rn_train = resnet.curves["test_accuracy"], resnet.curves["train_accuracy"]
rn_epochs = np.arange(1, len(rn_test) + 1)
ax.plot(rn_epochs, rn_test, color="tab:red", lw=0.6, alpha=0.5)
ax.plot(rn_epochs, rn_test.mean(axis=1), color="tab:red", lw=2, label="test")
ax.plot(rn_epochs, rn_train.mean(axis=1), color="tab:red", ls=":", label="training (augmented)")
ax.set_title("ResNet on 64 px images")
for ax in axes[:2]:
    ax.axhline(1 / 7, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("epoch")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
axes[0].set_ylabel("accuracy")
ax = axes[2]
folds = np.arange(len(splits))
bp_folds, rn_folds = fold_accuracy(bp.confusions), fold_accuracy(resnet.confusions)
ax.bar(folds - 0.2, bp_folds, 0.4, color="tab:blue", label="BP")
ax.bar(folds + 0.2, rn_folds, 0.4, color="tab:red", label="ResNet")
ax.axhline(1 / 7, color="grey", lw=0.8, ls="--", label="chance")
ax.set_xticks(folds, [f"fold {k}" for k in folds])
ax.set_title("final test accuracy")
ax.set_ylim(0, 1.6 * max(bp_folds.max(), rn_folds.max()))
ax.legend(fontsize=8, ncol=3, loc="upper center")
fig.tight_layout()
plt.show()

# %%
# Both branches report per-fold confusion matrices, so the paper's per-class table
# (:mod:`bpnet.metrics`) reads the same for each. The ResNet's, pooled over the three folds:
print(format_table(per_class_metrics(cm=pool_confusion(resnet.confusions)), faces.class_names))
