"""The pipeline model file: what every NumPy model of ``fer-compare`` shares on disk.

One ``.npz`` of arrays and JSON (:mod:`bpnet.io`, kind ``FERPipeline``, no pickles) whose
``model`` field says which model it holds; each model registers how it is written and read
(:func:`register_model`): the BP pipeline (:mod:`bpnet.pipeline`), the BP ensemble and the
linear model (:mod:`bpnet.pipeline_models`). Here too: the common base
:class:`ImagePipeline`, the version check, and the (de)serialisers of the parts several
models hold (the descriptor PCA, a normaliser).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from . import io
from .data.features import PCA, DescriptorPCA, describe_images
from .preprocessing import Normalizer

__all__ = ["ImagePipeline", "KIND", "PIPELINE_VERSION", "normalizer_from_arrays",
           "normalizer_to_arrays", "read_model", "reducer_from_arrays", "reducer_to_arrays",
           "reduced_features", "register_model", "resized_image", "take"]

KIND = "FERPipeline"
#: Version of what a pipeline file holds (the archive around it has bpnet.io's version).
#: A reader refuses a larger number: the file needs a newer bpnet-fer. 2: the ``model``
#: field (version 1 files hold a BP pipeline).
PIPELINE_VERSION = 2
_PCA_STATE = ("components_", "mean_", "explained_variance_", "explained_variance_ratio_",
              "singular_values_")
_NORMALIZER_STATE = ("skewness_", "log_columns_", "log_sign_", "log_shift_", "log_scale_",
                     "center_", "scale_")


def resized_image(image: np.ndarray, size: int | None) -> np.ndarray:
    """``image`` (H, W[, 3]) uint8 at ``size`` x ``size`` (bilinear, aspect not kept)."""
    image = np.asarray(image)
    if size is None or image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def reduced_features(images, size: int | None, descriptor: dict,
                     reducer: DescriptorPCA) -> np.ndarray:
    """The principal components ``(n, 2 * n_components)`` of the LPQ and PHOG descriptors
    (``descriptor`` settings) of ``images`` resized to ``size``: the BP pipelines' inputs
    before their normaliser(s)."""
    lpq_desc, phog_desc = describe_images([resized_image(im, size) for im in images],
                                          progress=False, **descriptor)
    return reducer.transform(lpq_desc, phog_desc)


class ImagePipeline:
    """What every model of this file format offers: ``class_names``, ``size``, ``crop``,
    ``info``, :meth:`predict_proba` of images, :meth:`predict` and :meth:`save`.

    ``model`` (a class attribute) names the kind in the file (:func:`register_model`).
    """

    model = ""
    class_names: tuple[str, ...]
    size: int | None
    crop: dict
    info: dict

    def predict_proba(self, images) -> np.ndarray:  # pragma: no cover - each kind's own
        """Class probabilities ``(n, n_classes)`` of ``images`` (rows sum to one)."""
        raise NotImplementedError

    def predict(self, images) -> np.ndarray:
        """Index of the most probable class per image, ``(n,)``."""
        return self.predict_proba(images).argmax(axis=1)

    def to_arrays(self) -> tuple[dict, dict]:
        """``(meta, arrays)`` of the file: the common fields, then the model's own."""
        for name, (cls, to_arrays, _) in _MODELS.items():
            if type(self) is cls:
                meta, arrays = to_arrays(self)
                return ({"pipeline_version": PIPELINE_VERSION, "model": name,
                         "class_names": list(self.class_names), "size": self.size,
                         "crop": self.crop, "info": self.info, **meta}, arrays)
        raise TypeError(f"no pipeline model is registered for {type(self).__name__}")

    def save(self, path: str | Path) -> Path:
        """Write the model as one ``.npz`` (suffix added when missing); returns the path."""
        return io.save_arrays(path, KIND, *self.to_arrays())


def take(arrays: dict, prefix: str) -> dict:
    """The arrays whose names start with ``prefix``, by the rest of their name."""
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def reducer_to_arrays(reducer: DescriptorPCA) -> dict:
    """The fitted state of both PCAs, ``{"lpq_pca.<attr>": ..., "phog_pca.<attr>": ...}``."""
    return {f"{name}_pca.{k}": getattr(pca, k)
            for name, pca in (("lpq", reducer.lpq_pca_), ("phog", reducer.phog_pca_))
            for k in _PCA_STATE}


def reducer_from_arrays(n_components: int, arrays: dict) -> DescriptorPCA:
    """Inverse of :func:`reducer_to_arrays` (KeyError when a part is missing)."""
    reducer = DescriptorPCA(int(n_components))
    for name in ("lpq", "phog"):
        pca, state = PCA(reducer.n_components), take(arrays, f"{name}_pca.")
        for k in _PCA_STATE:
            setattr(pca, k, np.asarray(state[k], np.float64))
        pca.n_components_ = len(pca.components_)
        setattr(reducer, f"{name}_pca_", pca)
    k = reducer.n_components
    reducer.feature_names_ = ([f"lpq_pc{i}" for i in range(1, k + 1)]
                              + [f"phog_pc{i}" for i in range(1, k + 1)])
    return reducer


def normalizer_to_arrays(n: Normalizer, prefix: str = "normalizer.") -> tuple[dict, dict]:
    """``(settings, arrays)`` of a fitted :class:`~bpnet.preprocessing.Normalizer`."""
    log = n.log if isinstance(n.log, (str, bool)) or n.log is None else list(map(int, n.log))
    return ({"skew_threshold": n.skew_threshold, "log": log, "method": n.method},
            {f"{prefix}{k}": getattr(n, k) for k in _NORMALIZER_STATE})


def normalizer_from_arrays(settings: dict, arrays: dict,
                           prefix: str = "normalizer.") -> Normalizer:
    """Inverse of :func:`normalizer_to_arrays` (KeyError when a part is missing)."""
    normalizer = Normalizer(**settings)
    state = take(arrays, prefix)
    for name in _NORMALIZER_STATE:
        setattr(normalizer, name, np.asarray(state[name]))
    normalizer.n_features_in_ = len(normalizer.center_)
    return normalizer


#: model name -> (class, to_arrays, from_arrays): the kinds a pipeline file may hold
_MODELS: dict[str, tuple] = {}


def register_model(name: str, cls: type, to_arrays, from_arrays) -> None:
    """Teach the pipeline file a model: ``to_arrays(obj) -> (meta, arrays)`` (the parts
    beyond ``class_names``, ``size``, ``crop`` and ``info``, which every model has) and
    ``from_arrays(meta, arrays) -> obj`` (ValueError on inconsistent contents)."""
    _MODELS[name] = (cls, to_arrays, from_arrays)


def read_model(meta: dict, arrays: dict) -> ImagePipeline:
    """Any registered model from a pipeline file (the kind :mod:`bpnet.io` calls)."""
    version = io.check_version(meta.get("pipeline_version"), PIPELINE_VERSION,
                               "pipeline format")
    model = meta.get("model", "bp") if version >= 2 else "bp"
    if model not in _MODELS:
        raise ValueError(f"model file holds a {model!r} model, which this bpnet-fer does not "
                         f"know (it reads {', '.join(_MODELS)})")
    return _MODELS[model][2](meta, arrays)


