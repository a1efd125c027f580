"""The ResNet as a model to ship: refit a recipe on every row, save it, load it, run it.

A :class:`ResNetModel` is the trained network (in eval mode, the EMA weights when the
recipe averages them) with what its inputs need: the :class:`~resnet_fer.config.TrainConfig`
(input size, normalisation, test-time augmentation), the
:class:`~resnet_fer.config.DataConfig` (face crop, stored size, grey/equalised tones) and
the class names. :func:`fit_final` trains it on all rows exactly as
:func:`resnet_fer.train.cross_validate` trains a fold.

The file is one ``.safetensors`` (weights; the rest as JSON in its metadata) when the
``safetensors`` package is installed, else a ``.pt`` holding a plain dict of tensors and
strings that loads with ``torch.load(..., weights_only=True)``. Neither can run code.
"""
from __future__ import annotations

import contextlib
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bpnet.io import check_version
from bpnet.outdir import atomic_write

from .augment import normalize
from .config import DataConfig, TrainConfig
from .data import ImageStore, tone
from .engine import Engine, WeightEMA, build_optimizer, make_scheduler, tta_views
from .train import balanced_class_weight, build_model, derived_seed, initial_state

__all__ = ["FORMAT", "FORMAT_VERSION", "ResNetModel", "fit_final", "load_resnet_model"]

FORMAT = "resnet-fer/model"
#: The version of the file layout; a reader refuses files with a larger one.
FORMAT_VERSION = 1
#: The fold number that seeds the final fit (no cross-validation has this many folds).
FINAL_FOLD = 1_000_000


@dataclass
class ResNetModel:
    """A trained ResNet and the settings its inputs need.

    Attributes
    ----------
    model : nn.Module
        In eval mode.
    config : TrainConfig
    data : DataConfig
        ``decode_size`` set: the size of the (cropped) images the network was given.
    class_names : tuple of str
    info : dict
        JSON facts kept with the model (recipe, data, cross-validated accuracy).
    """

    model: nn.Module
    config: TrainConfig
    data: DataConfig
    class_names: tuple[str, ...]
    info: dict = field(default_factory=dict)

    @property
    def input_size(self) -> int:
        """Side of the uint8 images :meth:`predict_proba` takes."""
        return self.data.decode_size or self.config.size

    @torch.no_grad()
    def predict_proba(self, images, device: str | torch.device = "cpu",
                      batch_size: int = 64) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` of cropped images.

        ``images`` : uint8 ``(n, input_size, input_size, 3)`` (array or tensor), cut as
        ``data`` says (:func:`resnet_fer.predictor.load_model` does that from photos).
        With test-time augmentation the probabilities are averaged over the views, as in
        evaluation (:meth:`resnet_fer.engine.Engine.predict`).
        """
        images = tone(torch.as_tensor(np.asarray(images)), self.data.gray, self.data.equalize)
        device = torch.device(device)
        self.model.to(device).eval()
        cfg, out = self.config, []
        for start in range(0, len(images), batch_size):
            x = normalize(images[start:start + batch_size].to(device), cfg.size, cfg.mean,
                          cfg.std, torch.float32, channels_last=False)
            probs = [F.softmax(self.model(v).float(), 1) for v in tta_views(x, cfg.tta)]
            out.append(torch.stack(probs).mean(0).cpu())
        if not out:
            return np.zeros((0, len(self.class_names)), np.float32)
        return torch.cat(out).numpy()

    def save(self, path: str | Path) -> Path:
        """Write the model (``.safetensors`` if possible, else ``.pt``); returns the path."""
        return _save(self, Path(path))


def _meta(m: ResNetModel) -> dict[str, Any]:
    return {"format": FORMAT, "version": FORMAT_VERSION, "config": m.config.to_dict(),
            "data": {**m.data.__dict__}, "class_names": list(m.class_names), "info": m.info}


def _save(m: ResNetModel, path: Path) -> Path:
    state = {k: v.detach().cpu().contiguous() for k, v in m.model.state_dict().items()}
    meta = json.dumps(_meta(m))
    try:
        import safetensors.torch as st
    except ImportError:
        st = None
    if path.suffix not in (".safetensors", ".pt"):
        path = path.with_name(path.name + (".safetensors" if st is not None else ".pt"))
    if path.suffix == ".safetensors":
        if st is None:
            raise ImportError("writing .safetensors needs the safetensors package "
                              "(pip install safetensors), or give a .pt path")
        # bytes, then an ordinary write: save_file makes its file owner-only (0600)
        blob = st.save(state, metadata={"resnet_fer": meta})
        return atomic_write(path, lambda tmp: Path(tmp).write_bytes(blob))
    return atomic_write(path, lambda tmp: torch.save({"resnet_fer": meta, "state_dict": state}, tmp))


def _read(path: Path) -> tuple[dict, dict]:
    """``(meta, state_dict)`` of a model file of either kind; ValueError for anything else."""
    try:
        if zipfile.is_zipfile(path):  # torch.save's format is a zip archive
            blob = torch.load(path, map_location="cpu", weights_only=True)
            text, state = blob["resnet_fer"], blob["state_dict"]
        else:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as fh:
                text = (fh.metadata() or {})["resnet_fer"]
                state = {k: fh.get_tensor(k) for k in fh.keys()}
        meta = json.loads(text)
    except (FileNotFoundError, IsADirectoryError):
        raise
    except ImportError as exc:
        raise ImportError(f"{path}: reading .safetensors needs the safetensors package") from exc
    except Exception as exc:  # torch and safetensors raise assorted types on foreign bytes
        raise ValueError(f"{path} is not a readable resnet-fer model file: "
                         f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a resnet-fer model file (format tag missing)")
    try:
        check_version(meta.get("version"), FORMAT_VERSION, "model format")
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return meta, state


def load_resnet_model(path: str | Path, class_names: Sequence[str] | None = None) -> ResNetModel:
    """Read a model that :meth:`ResNetModel.save` wrote (no pickles), on the CPU.

    Parameters
    ----------
    path : str or Path
    class_names : sequence of str, optional
        The classes the caller expects, in order; a model trained on another list is refused.

    Raises
    ------
    ValueError
        Not a model file, a newer format, inconsistent contents, or other classes.
    """
    from bpnet.pipeline import check_class_names

    path = Path(path)
    meta, state = _read(path)
    try:
        config = TrainConfig.from_dict(meta["config"])
        data = DataConfig(**meta["data"])
        names = tuple(str(c) for c in meta["class_names"])
        model = build_model(config, len(names))
        model.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise ValueError(f"{path} is incomplete or inconsistent: "
                         f"{' '.join(str(exc).split())[:300]}") from None
    check_class_names(path, names, class_names)
    return ResNetModel(model.eval(), config, data, names, dict(meta.get("info", {})))


def fit_final(images, y, config: TrainConfig, device: str | torch.device = "cpu", *,
              class_names: Sequence[str], data: DataConfig | None = None,
              progress: bool = True, info: dict | None = None) -> ResNetModel:
    """Train the recipe on every row: the model to ship after cross-validation.

    The same steps as one fold of :func:`resnet_fer.train.cross_validate` (initial weights,
    optimiser, schedule, class weights, EMA, augmentation, all seeded from ``config.seed``),
    with all rows as training rows and no test rows.

    Parameters
    ----------
    images : uint8 (n, H, W, 3)
        The training images as cross-validation saw them.
    y : (n,) int labels
    config : TrainConfig
    device : str or torch.device
    class_names : sequence of str
    data : DataConfig, optional
        How ``images`` were cut; its ``decode_size`` is set to their size.
    progress : bool
        A tqdm bar over the epochs.
    info : dict, optional
        JSON facts stored with the model.

    Returns
    -------
    ResNetModel
        On the CPU, in eval mode.
    """
    from .train import NonFiniteLossError

    device = torch.device(device)
    y = np.asarray(y, dtype=np.int64)
    n_classes = len(class_names)
    store = ImageStore(images, y, device, config.memory_budget)
    with torch.random.fork_rng(devices=[]):
        model = build_model(config, n_classes).to(device)
    engine = Engine(model, store, config, n_classes)
    cuda = [device.index or 0] if device.type == "cuda" else []
    idx = np.arange(len(y))
    with torch.random.fork_rng(devices=cuda):  # dropout's draws; the caller's RNG untouched
        torch.manual_seed(derived_seed(config.seed, FINAL_FOLD, 1, engine.dist.rank))
        model.load_state_dict(initial_state(config, FINAL_FOLD, n_classes))
        optimizer = build_optimizer(model, config, device)
        steps = len(idx) // engine.batch_size(len(idx))
        scheduler = make_scheduler(optimizer, config, config.epochs * steps)
        weight = balanced_class_weight(y, n_classes, device) if config.class_weights else None
        ema = WeightEMA(model, config.ema) if config.ema > 0 else None
        from tqdm.auto import tqdm

        for epoch in tqdm(range(config.epochs), desc="final ResNet", unit="epoch",
                          disable=not progress or not engine.dist.is_main):
            loss, _ = engine.train_epoch(optimizer, scheduler, idx, (config.seed, FINAL_FOLD,
                                                                     epoch), weight, ema)
            if not math.isfinite(loss):
                raise NonFiniteLossError(f"final model, epoch {epoch + 1}: the training loss "
                                         f"became {loss}; lower the learning rate (--lr)")
        with ema.applied(model) if ema is not None else contextlib.nullcontext():
            state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    final = build_model(config, n_classes)
    final.load_state_dict(state)
    data = DataConfig() if data is None else data
    data = DataConfig(**{**data.__dict__, "decode_size": _side(images)})
    return ResNetModel(final.eval(), config, data, tuple(class_names), dict(info or {}))


def _side(images) -> int:
    """Side of a uint8 image set ``(n, H, W[, 3])`` (square images, as decoded here)."""
    return int(torch.as_tensor(images).shape[1])
