"""The BP network as a model to ship: images in, expression probabilities out.

A :class:`FeaturePipeline` holds every step the BP branch applies to an image, each fitted
on the training images only:

1. (recorded, not applied here) the face-crop settings the training images were cut with;
   cropping needs OpenCV, so :func:`resnet_fer.predictor.load_model` applies them before
   calling this pipeline;
2. resizing to ``size`` x ``size`` (bilinear, as :func:`bpnet.data.imageio.read_image`);
3. LPQ and PHOG descriptors (:func:`bpnet.data.features.describe_images`, its settings);
4. the two PCAs of :class:`~bpnet.data.features.DescriptorPCA` (dataset 1's 10 features);
5. the :class:`~bpnet.preprocessing.Normalizer`;
6. the network (:class:`~bpnet.network.BPNetwork`, pruned or not), whose outputs become
   probabilities as :meth:`bpnet.BPClassifier.predict_proba` makes them.

:func:`fit_pipeline` fits all of it on labelled images; :meth:`~bpnet.pipeline_format.ImagePipeline.save`
writes one ``.npz`` (:mod:`bpnet.io`, no pickles) that :func:`load_pipeline` reads back,
refusing a file with another class list (when asked for one) or from a newer pipeline
format.

The same file format holds the other NumPy models of ``fer-compare``: its ``model`` field
says which (``"bp"`` here; ``"bp-ensemble"`` and ``"linear"``,
:mod:`bpnet.pipeline_models`), each registered with
:func:`bpnet.pipeline_format.register_model`. Version 1 files (before that field) are BP
pipelines and still load.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import (
    io,
    pipeline_models,  # noqa: F401  (registers the ensemble and linear models)
)
from .callbacks import Progress
from .class_scores import decision_scores, probabilities
from .data.features import DescriptorPCA, describe_images
from .network import BPNetwork
from .pipeline_format import (
    KIND,
    PIPELINE_VERSION,
    ImagePipeline,
    normalizer_from_arrays,
    normalizer_to_arrays,
    read_model,
    reduced_features,
    reducer_from_arrays,
    reducer_to_arrays,
    register_model,
    resized_image,
    take,
)
from .preprocessing import Normalizer
from .prune_retrain import prune_and_retrain
from .pruning import DistinctivenessPruner
from .settings import Settings
from .training import Rows, predict_outputs, train

__all__ = ["DESCRIPTOR_DEFAULTS", "FeaturePipeline", "ImagePipeline", "KIND", "PIPELINE_VERSION",
           "check_class_names", "fit_pipeline", "fit_reducer", "load_pipeline", "register_model"]

#: :func:`~bpnet.data.features.describe_images` settings (its defaults, the paper's).
DESCRIPTOR_DEFAULTS = {"win": 7, "decorrelate": True, "rho": 0.90, "bins": 8, "levels": 3,
                       "angle": 360, "edges": "canny"}
@dataclass
class FeaturePipeline(ImagePipeline):
    """Descriptors, PCA, normaliser and network of a trained BP model (see the module doc).

    Attributes
    ----------
    class_names : tuple of str
        One per network output, in output order.
    size : int or None
        Side images are resized to before the descriptors (None: used as given).
    crop : dict
        How the training images were cut from the photos, e.g. ``{"face_crop": "none"}``
        (the keys of :class:`resnet_fer.config.DataConfig`); applied by the caller.
    descriptor : dict
        LPQ and PHOG settings (:data:`DESCRIPTOR_DEFAULTS`).
    reducer : DescriptorPCA
    normalizer : Normalizer or None
    net : BPNetwork
    info : dict
        JSON facts kept with the model (recipe, data, cross-validated accuracy).
    """

    class_names: tuple[str, ...]
    size: int | None
    crop: dict
    descriptor: dict
    reducer: DescriptorPCA
    normalizer: Normalizer | None
    net: BPNetwork
    info: dict = field(default_factory=dict)

    def features(self, images) -> np.ndarray:
        """The network's inputs, ``(n, 2 * n_components)``, of ``images``.

        ``images`` : (n, H, W[, 3]) uint8 array or a sequence of such arrays (sizes may
        differ), cut as ``crop`` says.
        """
        X = reduced_features(images, self.size, self.descriptor, self.reducer)
        return self.normalizer.transform(X) if self.normalizer is not None else X

    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` (rows sum to one), in ``class_names`` order."""
        z = predict_outputs(self.net, self.features(images), logits=True)
        return probabilities(self.net.output, decision_scores(self.net.output, z))


def _to_arrays(p: FeaturePipeline) -> tuple[dict, dict]:
    net_meta, net_arrays = io.network_to_arrays(p.net)
    arrays = {f"net.{k}": v for k, v in net_arrays.items()}
    arrays.update(reducer_to_arrays(p.reducer))
    norm = None
    if p.normalizer is not None:
        norm, norm_arrays = normalizer_to_arrays(p.normalizer)
        arrays.update(norm_arrays)
    meta = {"descriptor": p.descriptor, "n_components": p.reducer.n_components,
            "normalizer": norm, "net": net_meta}
    return meta, arrays


def _from_arrays(meta: dict, arrays: dict) -> FeaturePipeline:
    try:
        net = io.network_from_arrays(meta["net"], take(arrays, "net."))
        reducer = reducer_from_arrays(meta["n_components"], arrays)
        k = reducer.n_components
        normalizer = None
        if meta["normalizer"] is not None:
            normalizer = normalizer_from_arrays(meta["normalizer"], arrays)
        class_names = tuple(str(c) for c in meta["class_names"])
        pipeline = FeaturePipeline(class_names, meta["size"], dict(meta["crop"]),
                                   dict(meta["descriptor"]), reducer, normalizer, net,
                                   dict(meta.get("info", {})))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"model file is incomplete or inconsistent: {exc!r}") from None
    if len(class_names) != net.n_outputs or net.n_inputs != 2 * k:
        raise ValueError(f"model file is inconsistent: {len(class_names)} class names and "
                         f"{2 * k} features for a network of {net.n_inputs} inputs and "
                         f"{net.n_outputs} outputs")
    return pipeline


register_model("bp", FeaturePipeline, _to_arrays, _from_arrays)


io.register_kind(KIND, FeaturePipeline, FeaturePipeline.to_arrays, read_model)


def check_class_names(path, found: Sequence[str], expected: Sequence[str] | None) -> None:
    """ValueError when a model's classes are not ``expected`` (None: anything goes)."""
    if expected is not None and tuple(found) != tuple(expected):
        raise ValueError(f"{path} was trained on the classes {', '.join(found)}, not "
                         f"{', '.join(expected)}: use a model trained on this class list")


def load_pipeline(path: str | Path, class_names: Sequence[str] | None = None) -> ImagePipeline:
    """Read a model that :meth:`~bpnet.pipeline_format.ImagePipeline.save` wrote (``allow_pickle=False``): a
    :class:`FeaturePipeline` or another registered model (:mod:`bpnet.pipeline_models`).

    Parameters
    ----------
    path : str or Path
    class_names : sequence of str, optional
        The classes the caller expects, in order; a model trained on another list is refused.

    Raises
    ------
    ValueError
        Not a pipeline file, a newer format, an inconsistent file, or other classes.
    """
    try:
        pipeline = io.load(path, expect=ImagePipeline)
    except ValueError as exc:  # say which file, as the ResNet loader does
        message = str(exc)
        raise ValueError(message if str(path) in message else f"{path}: {message}") from None
    check_class_names(path, pipeline.class_names, class_names)
    return pipeline


def fit_reducer(images, size: int | None, n_components: int, descriptor: dict | None,
                progress: bool = False) -> tuple[dict, DescriptorPCA, np.ndarray]:
    """The descriptor settings (:data:`DESCRIPTOR_DEFAULTS` updated by ``descriptor``), the
    :class:`~bpnet.data.features.DescriptorPCA` fitted on ``images`` and their features
    ``(n, 2 * n_components)``: the network's inputs before the normaliser."""
    descriptor = {**DESCRIPTOR_DEFAULTS, **(descriptor or {})}
    items = [im if isinstance(im, (str, Path)) else resized_image(im, size) for im in images]
    lpq_desc, phog_desc = describe_images(items, size=size, progress=progress, **descriptor)
    reducer = DescriptorPCA(n_components)
    return descriptor, reducer, reducer.fit_transform(lpq_desc, phog_desc)


def fit_pipeline(images, y, class_names: Sequence[str], *, size: int | None = None,
                 crop: dict | None = None, n_components: int = 5,
                 descriptor: dict | None = None, normalize: bool | dict = True,
                 prune: bool | DistinctivenessPruner = False, epochs_per_round: int = 50,
                 random_state: Any = 0, progress: bool = False, info: dict | None = None,
                 **settings) -> FeaturePipeline:
    """Fit the whole BP pipeline on labelled images (every row: the final model of a recipe).

    Every step is fitted as :func:`bpnet.cross_validate` fits one fold, here on all rows:
    PCA of each descriptor, :class:`~bpnet.preprocessing.Normalizer`, the network with the
    same settings and seed handling, then (``prune``) the same prune-and-retrain loop.

    Parameters
    ----------
    images : (n, H, W[, 3]) uint8 array, or a sequence of arrays or image files
    y : (n,) int labels ``0..C-1``
    class_names : sequence of str
        ``C`` names, the network's outputs.
    size : int, optional
        Resize every image to ``size`` x ``size`` first (None: as given).
    crop : dict, optional
        The face-crop settings the images were cut with (recorded; default no crop).
    n_components : int
        Principal components kept per descriptor.
    descriptor : dict, optional
        LPQ and PHOG settings; default :data:`DESCRIPTOR_DEFAULTS`.
    normalize, prune, epochs_per_round, random_state, progress, **settings
        As :func:`bpnet.cross_validate` takes them (``dtype`` defaults to float32 as there).
    info : dict, optional
        JSON facts stored with the model.

    Returns
    -------
    FeaturePipeline
    """
    cfg = Settings.from_dict(settings, dtype="float32")
    descriptor, reducer, X = fit_reducer(images, size, n_components, descriptor, progress)
    normalizer = None
    if normalize:
        normalizer = Normalizer(**(normalize if isinstance(normalize, dict) else {})).fit(X)
        X = normalizer.transform(X)
    y = np.asarray(y, np.int64)
    rng = np.random.default_rng(random_state)
    cw = cfg.class_weights(y, len(class_names))
    # cross-entropy weighs classes inside the loss; MSE through the rows, as cross_validate does
    ce = cfg.loss == "cross_entropy"
    sample_weight = None if cw is None or ce else cw[y]
    net = cfg.build_network(X.shape[1], len(class_names), rng,
                            class_weight=cw if ce else None)
    opt = cfg.build_optimizer(net.params)
    callbacks = [Progress("final BP network")] if progress else []
    train(net, Rows(X, y, sample_weight), opt, cfg.epochs, callbacks, steps=cfg.steps(),
          rng=rng)
    if prune:
        pruner = prune if isinstance(prune, DistinctivenessPruner) else DistinctivenessPruner()
        prune_and_retrain(net, X, y, opt, epochs_per_round, pruner=pruner,
                          sample_weight=sample_weight, progress=progress)
    return FeaturePipeline(tuple(class_names), size, dict(crop or {"face_crop": "none"}),
                           descriptor, reducer, normalizer, net, dict(info or {}))
