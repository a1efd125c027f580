"""The recipe as frozen dataclasses: :class:`TrainConfig`, its :class:`AugmentConfig`, the
:class:`DataConfig` (how the images are cropped) and named :class:`Preset` s of both.

Kept free of torch imports so that the command line can show the defaults without
loading PyTorch.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from bpnet.data.facecrop import FACE_CROPS

__all__ = ["ARCHS", "AugmentConfig", "DataConfig", "IMAGENET_MEAN", "IMAGENET_STD", "PRESETS", "Preset",
           "RESUMABLE_CHANGES", "TTA_MODES", "TrainConfig", "get_preset"]

#: The model families a :class:`TrainConfig` can name (:func:`resnet_fer.cnn.build_network`).
ARCHS = ("resnet18", "cnn-small", "googlenet")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random augmentation.

    Attributes
    ----------
    scale : (float, float)
        Area of the random crop as a fraction of the image (torchvision's
        ``RandomResizedCrop`` ``scale``).
    ratio : (float, float)
        Aspect ratio (width / height) range of the crop, sampled log-uniformly.
    flip : float
        Probability of a horizontal flip.
    degrees : float
        Rotation angle drawn uniformly from ``[-degrees, degrees]``.
    brightness, contrast, saturation : float
        Jitter factors drawn uniformly from ``[1 - v, 1 + v]`` (torchvision's ``ColorJitter``).
    mixup, cutmix : float
        Beta(alpha, alpha) parameter of mixup / cutmix; 0 disables it.
    mix_prob : float
        Fraction of samples that are mixed (with mixup or cutmix, half each when both are
        enabled); the others keep their hard label.
    """

    scale: tuple[float, float] = (0.35, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip: float = 0.5
    degrees: float = 10.0
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3
    mixup: float = 0.2
    cutmix: float = 1.0
    mix_prob: float = 0.5

    def __post_init__(self) -> None:
        lo, hi = self.scale
        if not 0 < lo <= hi <= 1 or not 0 < self.ratio[0] <= self.ratio[1]:
            raise ValueError(f"need 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1], "
                             f"got scale={self.scale}, ratio={self.ratio}")
        for name in ("flip", "mix_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        for name in ("brightness", "contrast", "saturation"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)}")
        for name in ("degrees", "mixup", "cutmix"):
            if not getattr(self, name) >= 0:  # NaN fails too
                raise ValueError(f"{name} must be at least 0, got {getattr(self, name)}")


#: Settings that change speed or memory but not a single trained weight, so a run may be
#: resumed with different values.
RESUMABLE_CHANGES = ("compile", "compile_mode", "compile_augment", "eval_batch_size",
                     "memory_budget")

#: The test-time augmentations (views whose predicted probabilities are averaged).
#: ``"flip"`` averages the image and its mirror; ``"crops"`` those two and a 90 % centre crop
#: of each.
TTA_MODES = ("none", "flip", "crops")


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe. Defaults: a small-data recipe for SFEW (675 images).

    Attributes
    ----------
    epochs, batch_size, lr, weight_decay : int, int, float, float
        AdamW (no decay on BatchNorm and biases); ``batch_size`` is global across ranks.
    schedule : {"onecycle", "cosine"}
        Per-step learning-rate schedule (:func:`resnet_fer.engine.lr_factor`).
    warmup : float
        Fraction of the steps spent warming up.
    label_smoothing : float
    class_weights : bool
        Weight the loss by the "balanced" class weights of the training fold's labels
        (:func:`bpnet.settings.class_weights`, the BP network's formula; a class the fold
        lacks weighs 1).
    dropout, width, stem, zero_init_residual : float, int, str, bool
        The model (:class:`resnet_fer.model.ResNet`).
    drop_path : float
        Stochastic depth: the last residual branch is dropped (per sample) with this
        probability in training, earlier ones linearly less (0: off).
    ema : float
        Decay of an exponential moving average of the weights, updated after every step and
        used for every evaluation (0: off, the raw weights are evaluated).
    tta : {"none", "flip", "crops"}
        Test-time augmentation (one of :data:`resnet_fer.config.TTA_MODES`): softmax outputs
        averaged over views.
    size : int
        Network input size; stored images are resampled to it.
    augment : AugmentConfig
        Random crop/flip/rotation/colour ranges and mixup/cutmix.
    mean, std : tuple of 3 float
        Input normalisation.
    amp : bool
        bf16 autocast on CUDA (ignored on CPU).
    channels_last : bool
        NHWC activations on CUDA (faster bf16 convolutions with cuDNN; ignored on CPU, where
        oneDNN's channels_last backward crashed on small widths).
    compile : bool
        ``torch.compile`` the model and the augmentation on CUDA (ignored on CPU).
    compile_mode : str, optional
        ``torch.compile`` mode, e.g. ``"max-autotune"``.
    compile_augment : bool
        With ``compile``, also compile the augmentation (inductor fuses it into one Triton
        kernel); off: the eager version (``benchmarks/bench_resnet.py`` times both).
    eval_batch_size : int
    memory_budget : int, optional
        Device bytes the uint8 images may take before batches stream from pinned host memory.
    seed : int
        Everything random (initial weights, order, augmentation, dropout) follows from it.
    arch : {"resnet18", "cnn-small", "googlenet"}
        The model family (:func:`resnet_fer.cnn.build_network`); ``stem``,
        ``zero_init_residual`` and ``drop_path`` apply to the ResNet only.
    blocks : int
        Conv blocks of ``"cnn-small"``.
    """

    epochs: int = 60
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    schedule: str = "onecycle"
    warmup: float = 0.15
    label_smoothing: float = 0.1
    class_weights: bool = False
    dropout: float = 0.3
    width: int = 64
    stem: str = "imagenet"
    zero_init_residual: bool = True
    drop_path: float = 0.0
    ema: float = 0.0
    tta: str = "none"
    size: int = 224
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    amp: bool = True
    channels_last: bool = True
    compile: bool = True
    compile_mode: str | None = None
    compile_augment: bool = True
    eval_batch_size: int = 256
    memory_budget: int | None = None
    seed: int = 0
    arch: str = "resnet18"
    blocks: int = 4

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.schedule not in ("onecycle", "cosine"):
            raise ValueError(f"schedule must be 'onecycle' or 'cosine', got {self.schedule!r}")
        for name, low in (("epochs", 1), ("batch_size", 1), ("size", 8)):
            if getattr(self, name) < low:  # one setting named, not the whole config
                raise ValueError(f"{name} must be at least {low}, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        for name in ("warmup", "label_smoothing"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be at least 0, got {self.weight_decay}")
        if not 0 <= self.drop_path < 1 or not 0 <= self.ema < 1:
            raise ValueError(f"need 0 <= drop_path < 1 and 0 <= ema < 1, got {self.drop_path} "
                             f"and {self.ema}")
        if self.tta not in TTA_MODES:
            raise ValueError(f"tta must be one of {TTA_MODES}, got {self.tta!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        aug = d.pop("augment", {})
        aug = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in aug.items()})
        return cls(augment=aug, **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})




@dataclass(frozen=True)
class DataConfig:
    """How the images are decoded: whole frames, Haar face boxes, or eye-aligned faces.

    Attributes
    ----------
    face_crop : {"none", "haar", "align"}
        See :func:`bpnet.data.image_dataset.load_image_folder`.
    eye_distance, eye_y : float
        Canonical eye geometry of the aligned crops (:class:`bpnet.data.facecrop.FaceAligner`).
    decode_size : int, optional
        Stored image size; default the network input size.
    gray, equalize : bool
        Grey images; histogram-equalised luma (:func:`bpnet.data.image_dataset.tone`).
    """

    face_crop: str = "none"
    eye_distance: float = 0.36
    eye_y: float = 0.40
    decode_size: int | None = None
    gray: bool = False
    equalize: bool = False

    def __post_init__(self) -> None:
        if self.face_crop not in FACE_CROPS:
            raise ValueError(f"face_crop must be 'none', 'haar' or 'align', got {self.face_crop!r}")

    def cropper_kwargs(self) -> dict[str, float]:
        """Keyword arguments of the cropper (:func:`bpnet.data.facecrop.make_cropper`)."""
        if self.face_crop == "align":
            return {"eye_distance": self.eye_distance, "eye_y": self.eye_y}
        return {}


@dataclass(frozen=True)
class Preset:
    """A named recipe: how to crop the images and how to train on them.

    Build one from Python with :func:`get_preset`; ``resnet-fer train --preset NAME`` starts
    from it (explicit flags still override single settings). To train it::

        from bpnet.splits import group_kfold
        from resnet_fer.config import get_preset
        from resnet_fer.data import load_preset_data
        from resnet_fer.train import cross_validate

        preset = get_preset("cpu-aligned")
        data = load_preset_data("../shared/data/sfew/images", preset)
        splits = group_kfold(data.y, data.groups, n_splits=5, seed=0)
        result = cross_validate(data.images, data.y, splits, preset.train, device="cpu")
    """

    name: str
    description: str
    data: DataConfig
    train: TrainConfig


def _presets() -> dict[str, Preset]:
    # How this was chosen, and what it scores: docs/resnet.rst ("Recipe search on the CPU").
    aligned = Preset(
        "cpu-aligned",
        "eye-aligned faces (eyes 25 % of the crop apart) at 64 px, ResNet-18 layout at width 32, "
        "60 epochs without mixup or dropout, weight EMA, flip TTA: about 16 minutes for the "
        "5-fold protocol on 2 busy CPU cores (3 s per epoch, plus 3 minutes of face detection "
        "once)",
        DataConfig(face_crop="align", eye_distance=0.25),
        TrainConfig(size=64, width=32, stem="imagenet", dropout=0.0, ema=0.99, tta="flip",
                    augment=AugmentConfig(mix_prob=0.0)))
    return {p.name: p for p in (aligned,)}


#: The named recipes, by name.
PRESETS: dict[str, Preset] = _presets()


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (one of :data:`PRESETS`); a ValueError lists the names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None
