"""The other NumPy models ``fer-compare --save-models`` writes, in the pipeline file format.

Both are :class:`~bpnet.pipeline_format.ImagePipeline` s, saved as one ``.npz`` of arrays and JSON
(no pickles) that :func:`bpnet.pipeline.load_pipeline` reads back:

* :class:`EnsemblePipeline` (``model: "bp-ensemble"``, the ``bp-tuned`` and
  ``bp-descriptors`` recipes): LPQ and PHOG, their PCA, then several BP networks, each
  behind its own normaliser (fitted on the rows that network trained on); the probabilities
  are the members' outputs averaged, each row scaled to sum to one, as both score their
  test rows.
* :class:`LinearPipeline` (``model: "linear"``, the ``linear-descriptors`` recipe): the
  chosen descriptor blocks (:mod:`bpnet.data.blocks`), square-rooted, standardised
  (:class:`~bpnet.linear.Standardizer`), then a :class:`~bpnet.linear.SoftmaxRegression`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import io
from .data.blocks import BLOCKS, describe_blocks, stack_blocks
from .data.features import DescriptorPCA
from .data.image_dataset import tone
from .linear import SoftmaxRegression, Standardizer
from .network import BPNetwork
from .pipeline_format import (
    ImagePipeline,
    normalizer_from_arrays,
    normalizer_to_arrays,
    reduced_features,
    reducer_from_arrays,
    reducer_to_arrays,
    register_model,
    resized_image,
    take,
)
from .preprocessing import Normalizer
from .training import predict_outputs

__all__ = ["EnsemblePipeline", "LinearPipeline"]


@dataclass
class EnsemblePipeline(ImagePipeline):
    """Descriptors, PCA and an ensemble of BP networks (the final model of ``bp-tuned`` and of
    ``bp-descriptors``).

    Attributes
    ----------
    class_names : tuple of str
    size : int or None
        Side images are resized to before the descriptors (None: used as given).
    crop : dict
        The face-crop settings of the training images (applied by the caller).
    descriptor : dict
        LPQ and PHOG settings (:data:`bpnet.pipeline.DESCRIPTOR_DEFAULTS`).
    reducer : DescriptorPCA
    members : list of (Normalizer, BPNetwork)
        Each network and the normaliser of its inputs.
    info : dict
    """

    model = "bp-ensemble"
    class_names: tuple[str, ...]
    size: int | None
    crop: dict
    descriptor: dict
    reducer: DescriptorPCA
    members: list[tuple[Normalizer, BPNetwork]]
    info: dict = field(default_factory=dict)

    def features(self, images) -> np.ndarray:
        """The PCA features ``(n, 2 * n_components)`` of ``images``, before each member's
        normaliser."""
        return reduced_features(images, self.size, self.descriptor, self.reducer)

    def predict_proba(self, images) -> np.ndarray:
        """The members' outputs averaged, each row scaled to sum to one, ``(n, n_classes)``."""
        X = self.features(images)
        out = np.mean([predict_outputs(net, norm.transform(X)) for norm, net in self.members],
                      axis=0).astype(np.float64)
        return out / out.sum(axis=1, keepdims=True)


def _ensemble_to_arrays(p: EnsemblePipeline) -> tuple[dict, dict]:
    arrays, members = reducer_to_arrays(p.reducer), []
    for k, (norm, net) in enumerate(p.members):
        norm_meta, norm_arrays = normalizer_to_arrays(norm, f"member{k}.normalizer.")
        net_meta, net_arrays = io.network_to_arrays(net)
        arrays.update(norm_arrays)
        arrays.update({f"member{k}.net.{name}": v for name, v in net_arrays.items()})
        members.append({"normalizer": norm_meta, "net": net_meta})
    return ({"descriptor": p.descriptor, "n_components": p.reducer.n_components,
             "members": members}, arrays)


def _ensemble_from_arrays(meta: dict, arrays: dict) -> EnsemblePipeline:
    try:
        reducer = reducer_from_arrays(meta["n_components"], arrays)
        members = [(normalizer_from_arrays(m["normalizer"], arrays, f"member{k}.normalizer."),
                    io.network_from_arrays(m["net"], take(arrays, f"member{k}.net.")))
                   for k, m in enumerate(meta["members"])]
        pipeline = EnsemblePipeline(tuple(str(c) for c in meta["class_names"]), meta["size"],
                                    dict(meta["crop"]), dict(meta["descriptor"]), reducer,
                                    members, dict(meta.get("info", {})))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"model file is incomplete or inconsistent: {exc!r}") from None
    C, d = len(pipeline.class_names), 2 * reducer.n_components
    if not members or any(net.n_inputs != d or net.n_outputs != C or len(norm.center_) != d
                          for norm, net in members):
        raise ValueError(f"model file is inconsistent: {len(members)} members, each should "
                         f"take {d} features and give {C} outputs")
    return pipeline


@dataclass
class LinearPipeline(ImagePipeline):
    """Descriptor blocks, a standardiser and a softmax regression (``linear-descriptors``).

    Attributes
    ----------
    class_names : tuple of str
    size : int or None
        Side images are resized to before the descriptors (None: used as given).
    crop : dict
        How the training images were cut (applied by the caller) and toned (``gray``,
        ``equalize``: applied here, :func:`bpnet.data.image_dataset.tone`).
    descriptor : dict
        LPQ and PHOG settings (used when ``blocks`` holds them).
    blocks : tuple of str
        The descriptor blocks, in order (:data:`bpnet.data.blocks.BLOCKS`).
    sqrt : bool
        Square-root the histograms first.
    scaler : Standardizer
    regression : SoftmaxRegression
    info : dict
    """

    model = "linear"
    class_names: tuple[str, ...]
    size: int | None
    crop: dict
    descriptor: dict
    blocks: tuple[str, ...]
    sqrt: bool
    scaler: Standardizer
    regression: SoftmaxRegression
    info: dict = field(default_factory=dict)

    def features(self, images) -> np.ndarray:
        """The standardised descriptors ``(n, d)`` of ``images`` (toned first when ``crop``
        says the training images were: ``gray``, ``equalize``)."""
        images = [resized_image(im, self.size) for im in images]
        gray, equalize = bool(self.crop.get("gray")), bool(self.crop.get("equalize"))
        if images and (gray or equalize):  # a preset's training images were toned at load
            images = list(tone(np.stack(images), gray, equalize))
        desc = describe_blocks(images, self.blocks, **self.descriptor)
        return self.scaler.transform(stack_blocks(desc, self.blocks, sqrt=self.sqrt))

    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` (rows sum to one)."""
        return self.regression.predict_proba(self.features(images))


def _linear_to_arrays(p: LinearPipeline) -> tuple[dict, dict]:
    r = p.regression
    meta = {"descriptor": p.descriptor, "blocks": list(p.blocks), "sqrt": bool(p.sqrt),
            "regression": {"alpha": float(r.alpha), "max_iter": int(r.max_iter),
                           "class_weight": r.class_weight if isinstance(r.class_weight, str)
                           else None,
                           "tol": float(r.tol), "n_iter_": int(r.n_iter_)}}
    return meta, {"scaler.mean_": p.scaler.mean_, "scaler.scale_": p.scaler.scale_,
                  "regression.coef_": r.coef_, "regression.intercept_": r.intercept_}


def _real(arrays: dict, name: str) -> np.ndarray:
    arr = arrays[name]
    if arr.dtype.kind not in "fiu" or not np.all(np.isfinite(arr)):
        raise ValueError(f"model file is inconsistent: array {name} holds {arr.dtype} values "
                         "that are not all finite real numbers")
    return np.asarray(arr, np.float64)


def _linear_from_arrays(meta: dict, arrays: dict) -> LinearPipeline:
    try:
        scaler = Standardizer()
        scaler.mean_, scaler.scale_ = _real(arrays, "scaler.mean_"), _real(arrays,
                                                                            "scaler.scale_")
        settings = dict(meta["regression"])
        regression = SoftmaxRegression(settings["alpha"], settings["class_weight"],
                                       settings["max_iter"], settings["tol"])
        regression.coef_ = _real(arrays, "regression.coef_")
        regression.intercept_ = _real(arrays, "regression.intercept_")
        regression.n_iter_ = int(settings["n_iter_"])
        blocks = tuple(str(b) for b in meta["blocks"])
        pipeline = LinearPipeline(tuple(str(c) for c in meta["class_names"]), meta["size"],
                                  dict(meta["crop"]), dict(meta["descriptor"]), blocks,
                                  bool(meta["sqrt"]), scaler, regression,
                                  dict(meta.get("info", {})))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"model file is incomplete or inconsistent: {exc!r}") from None
    d, C = len(scaler.mean_), len(pipeline.class_names)
    if (not blocks or set(blocks) - set(BLOCKS) or scaler.scale_.shape != (d,)
            or regression.coef_.shape != (d, C) or regression.intercept_.shape != (C,)):
        raise ValueError(f"model file is inconsistent: blocks {blocks}, {d} standardised "
                         f"features and weights {regression.coef_.shape} for {C} classes")
    return pipeline


register_model("bp-ensemble", EnsemblePipeline, _ensemble_to_arrays, _ensemble_from_arrays)
register_model("linear", LinearPipeline, _linear_to_arrays, _linear_from_arrays)
