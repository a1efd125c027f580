"""
Use a trained model on new faces
================================

:Objective: refit a recipe on every image, save it as one file, load it back and predict
    the expression of faces it never saw.
:Prerequisites: the k-fold example (what cross-validation estimates).
:Time: 10 minutes (further reading).

Cross-validation says how good a recipe is; the model to use is that recipe refitted on
every image. Here the BP branch's whole pipeline (LPQ and PHOG descriptors, their PCAs,
the normaliser, the network) is fitted on synthetic faces, saved as one ``.npz``, loaded
back with :func:`resnet_fer.predictor.load_model` and run on faces it never saw, each
drawn with its box and predicted expression as ``fer-predict --annotate`` draws it.

``fer-compare --save-models`` and ``resnet-fer train --final`` write such files (and a
ResNet one) with a model card beside each; see :doc:`/predict`.
"""
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from bpnet.data.synthetic import synthetic_faces
from bpnet.pipeline import fit_pipeline
from resnet_fer.predict import annotate
from resnet_fer.predictor import load_model

# %%
# Fit the pipeline on every training face, save it, load it
# ---------------------------------------------------------
train = synthetic_faces(n_per_class=40, size=64, seed=0)
pipeline = fit_pipeline(train.images, train.y, train.class_names, size=64, n_hidden=32,
                        epochs=400, random_state=0)
folder = Path(tempfile.mkdtemp())
path = pipeline.save(folder / "bp.npz")
model = load_model(path, class_names=train.class_names)  # another class list is refused
print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB, classes {', '.join(model.class_names)}")

# %%
# Predict faces of other people
# -----------------------------
# New identities (another seed), shown four times larger: the pipeline resizes every
# photo to the 64 px it was trained on. ``predict`` gives, per image, the expression, the
# probabilities, the box the model looked at and whether a face was found (None: this
# model does not crop faces, so the box is the whole image).
new = synthetic_faces(n_per_class=2, size=64, seed=123)
photos = [np.kron(im, np.ones((4, 4, 1), np.uint8)) for im in new.images]
predictions = model.predict(photos)
hits = np.mean([p.label == new.class_names[t] for p, t in zip(predictions, new.y)])
print(f"{hits:.0%} of {len(new.y)} new faces right (chance {1 / 7:.0%})")
print(predictions[0].label, np.round(predictions[0].probabilities, 3), predictions[0].box)

# %%
# The faces as ``fer-predict --annotate`` writes them
# ---------------------------------------------------
fig, axes = plt.subplots(2, 7, figsize=(10, 3.4))
for ax, photo, pred, truth in zip(axes.T.ravel(), photos, predictions, new.y):
    ax.imshow(annotate(photo, pred.box, f"{pred.label} {pred.probabilities.max():.0%}"))
    ax.set_title(f"true: {new.class_names[truth]}", fontsize=8)
    ax.axis("off")
fig.tight_layout()
plt.show()
