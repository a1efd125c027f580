"""Either kind of model file, applied to photos: ``load_model(path).predict_proba(images)``.

:func:`load_model` reads a NumPy model (``.npz``, :mod:`bpnet.pipeline`: the BP pipeline, the
``bp-tuned`` ensemble or the linear model) or a ResNet model (``.safetensors`` / ``.pt``,
:mod:`resnet_fer.model_file`) and returns a :class:`Predictor`
that does what training did to every image before the model saw it: the face crop of the
model's settings (none, a square around the Haar face box, or an eye-aligned crop), the
size, then the model. A NumPy model needs neither PyTorch nor, unless it crops faces, OpenCV.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from bpnet.data.facecrop import FACE_CROPS, FaceAligner, FaceCropper, center_box

__all__ = ["Prediction", "Predictor", "load_model"]


@dataclass
class Prediction:
    """What a model says about one image.

    Attributes
    ----------
    label : str
        The most probable expression.
    probabilities : ndarray, shape (n_classes,)
        In the order of the predictor's ``class_names``.
    box : (x, y, width, height)
        The region of the image the model looked at (the face square or aligned face box,
        or the whole image when the model does not crop faces), in pixels.
    face_found : bool or None
        Whether the face detector found a face; None when the model does not crop faces.
    """

    label: str
    probabilities: np.ndarray
    box: tuple[int, int, int, int]
    face_found: bool | None


def _as_rgb(image: Any) -> np.ndarray:
    """uint8 (H, W, 3) pixels of a file path or an array (grey arrays get three channels)."""
    if isinstance(image, (str, Path)):
        from bpnet.data.imageio import read_image

        return read_image(image, "RGB")
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3
                                                               and array.shape[2] != 3):
        raise ValueError(f"an image must be uint8 (H, W) or (H, W, 3), got {array.dtype} "
                         f"{array.shape}")
    return np.repeat(array[:, :, None], 3, axis=2) if array.ndim == 2 else array


class Predictor:
    """A loaded model and the image preparation its training used.

    Parameters
    ----------
    model : bpnet.pipeline.ImagePipeline or resnet_fer.model_file.ResNetModel
        A NumPy model file's model (:class:`~bpnet.pipeline.FeaturePipeline`,
        :class:`~bpnet.pipeline_models.EnsemblePipeline` or
        :class:`~bpnet.pipeline_models.LinearPipeline`) or a ResNet.
    path : str or Path, optional
        Where it was read from (for messages).
    device : str
        Where a ResNet runs (``"cpu"``, ``"cuda"``); a BP model runs on the CPU.
    batch_size : int
        Images per forward pass.

    Attributes
    ----------
    kind : {"bp", "linear", "resnet"}
        ``"bp"`` for a BP network or ensemble, ``"linear"`` for the softmax regression.
    class_names : tuple of str
    crop : dict
        ``face_crop`` ("none", "haar" or "align") and the crop settings.
    input_size : int or None
        Side of the images the model is given (None: a BP model without a fixed size).
    """

    def __init__(self, model, path: str | Path | None = None, device: str = "cpu",
                 batch_size: int = 64) -> None:
        from bpnet.pipeline import ImagePipeline

        self.model, self.path, self.device, self.batch_size = model, path, device, batch_size
        if isinstance(model, ImagePipeline):  # a NumPy model (.npz): BP, BP ensemble, linear
            self.kind = "linear" if model.model == "linear" else "bp"
            self.crop, self.input_size = dict(model.crop), model.size
        else:
            self.kind, self.crop = "resnet", dict(model.data.__dict__)
            self.input_size = model.input_size
        self.class_names = tuple(model.class_names)
        self.info = model.info
        mode = self.crop.get("face_crop", "none")
        if mode not in FACE_CROPS:
            raise ValueError(f"{path}: unknown face_crop {mode!r} in the model file")
        if mode != "none" and self.input_size is None:
            raise ValueError(f"{path}: a model that crops faces needs a fixed input size")
        self._cropper = None
        if mode == "align":
            self._cropper = FaceAligner(eye_distance=self.crop.get("eye_distance", 0.36),
                                        eye_y=self.crop.get("eye_y", 0.40))
        elif mode == "haar":
            self._cropper = FaceCropper()

    def prepare(self, image) -> tuple[np.ndarray, tuple[int, int, int, int], bool | None]:
        """``(model input uint8 (S, S, 3), box (x, y, w, h), face_found)`` of one image."""
        rgb = _as_rgb(image)
        height, width = rgb.shape[:2]
        size = self.input_size
        mode = self.crop.get("face_crop", "none")
        if mode == "none":
            if size is not None and rgb.shape[:2] != (size, size):
                # the whole frame squashed to a square, bilinear, as read_image(path, size=...)
                rgb = np.asarray(Image.fromarray(rgb).resize((size, size),
                                                             Image.Resampling.BILINEAR))
            return rgb, (0, 0, width, height), None
        if mode == "haar":
            (top, left, side), found = self._cropper.box(rgb)  # one detection, not two
            crop = self._cropper.cut(rgb, (top, left, side), size)
            return crop, (left, top, side, side), bool(found)
        detection = self._cropper.detect(rgb)
        if detection.box is None:
            top, left, side = center_box(height, width)
            box = (left, top, side, side)
        else:
            box = tuple(int(v) for v in detection.box)
        return self._cropper.warp(rgb, detection, size), box, detection.box is not None

    def predict_prepared(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities ``(n, n_classes)`` of images already prepared (:meth:`prepare`)."""
        if self.kind != "resnet":
            return self.model.predict_proba(list(inputs))
        batch = np.stack(inputs) if len(inputs) else np.zeros((0, self.input_size,
                                                               self.input_size, 3), np.uint8)
        return self.model.predict_proba(batch, self.device, self.batch_size)

    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` of photos (arrays or file paths).

        ``images`` : a sequence of uint8 ``(H, W, 3)`` or ``(H, W)`` arrays (sizes may
        differ), an ``(n, H, W, 3)`` array, or file paths. Rows sum to one.
        """
        out = []
        images = list(images)
        for start in range(0, len(images), self.batch_size):
            chunk = [self.prepare(im)[0] for im in images[start:start + self.batch_size]]
            out.append(self.predict_prepared(chunk))
        return np.concatenate(out) if out else np.zeros((0, len(self.class_names)))

    def predict(self, images) -> list[Prediction]:
        """One :class:`Prediction` per photo (arrays or file paths)."""
        prepared = [self.prepare(im) for im in images]
        probs = self.predict_prepared([p[0] for p in prepared])
        return [Prediction(self.class_names[int(np.argmax(p))], p, box, found)
                for p, (_, box, found) in zip(probs, prepared)]


def _is_bp_file(path: Path) -> bool:
    """True for a bpnet ``.npz`` archive (a zip with a ``__bpnet__`` entry)."""
    if path.suffix == ".npz":
        return True
    try:
        with zipfile.ZipFile(path) as zf:
            return any(name.startswith("__bpnet__") for name in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def load_model(path: str | Path, class_names: Sequence[str] | None = None,
               device: str = "cpu", batch_size: int = 64) -> Predictor:
    """Read a NumPy model (``.npz``: BP, BP ensemble, linear) or a ResNet model
    (``.safetensors``/``.pt``).

    Parameters
    ----------
    path : str or Path
        A file from ``fer-compare --save-models`` or ``resnet-fer train --final``.
    class_names : sequence of str, optional
        The classes expected, in order; a model trained on another list is refused.
    device : str
        Where a ResNet runs.
    batch_size : int
        Images per forward pass.

    Returns
    -------
    Predictor
        ``load_model(path).predict_proba(images)`` gives the class probabilities.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a model file, a newer format than this version reads, or other classes.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} not found"
                                + (" (it is a folder)" if path.is_dir() else ""))
    if _is_bp_file(path):
        from bpnet.pipeline import load_pipeline

        model = load_pipeline(path, class_names)
    else:
        try:
            from .model_file import load_resnet_model
        except ImportError as exc:
            raise ImportError(f"{path} is a ResNet model, which needs PyTorch: pip install "
                              "'bpnet-fer[torch]'") from exc
        model = load_resnet_model(path, class_names)
    return Predictor(model, path, device, batch_size)
