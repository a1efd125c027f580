"""The ResNet's side of the image stack: the decoded uint8 images as tensors, on the device.

Decoding, face crops and the on-disk cache are :mod:`bpnet.data` (one stack for both
branches: :func:`bpnet.data.image_dataset.load_image_folder`); this module only turns the
result into tensors.

* :class:`FaceImages`: a :class:`~bpnet.data.image_dataset.ImageDataset` whose images are a
  CPU uint8 tensor (the same pixels, shared with the array, not copied).
* :func:`load_image_folder`, :func:`load_preset_data`, :func:`synthetic_images`: the entry
  points that load through :mod:`bpnet.data` and return a :class:`FaceImages`.
* :class:`ImageStore` holds the set on the training device as uint8, or, when it does not
  fit a memory budget, in pinned host memory from which each batch is gathered and copied
  asynchronously; either way :meth:`ImageStore.gather` returns the same uint8 batch.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from bpnet.data import image_dataset
from bpnet.data.facecrop import FACE_CROPS, make_cropper  # noqa: F401  (FACE_CROPS: old imports)
from bpnet.data.image_dataset import ImageDataset

# FACE_CROPS and make_cropper (bpnet.data.facecrop) stay importable from here for old callers.
__all__ = ["FaceImages", "ImageStore", "as_tensors", "load_decoded", "load_image_folder",
           "load_preset_data", "synthetic_images", "tone"]


@dataclass(repr=False)
class FaceImages(ImageDataset):
    """An :class:`~bpnet.data.image_dataset.ImageDataset` with its images as a tensor.

    Attributes
    ----------
    images : Tensor, uint8, shape (n, size, size, 3), on the CPU
        The other attributes are those of ``ImageDataset``.
    """

    def _uint8_images(self) -> bool:
        return (isinstance(self.images, Tensor) and self.images.dtype == torch.uint8
                and self.images.ndim in (3, 4))


def as_tensors(data: ImageDataset) -> FaceImages:
    """``data`` with its uint8 array as a CPU tensor (shared memory, no copy)."""
    images = data.images if isinstance(data.images, Tensor) else torch.from_numpy(data.images)
    return FaceImages(**{**{f.name: getattr(data, f.name) for f in dataclasses.fields(data)},
                         "images": images})


def synthetic_images(n_per_class: int = 60, size: int = 64, seed: int = 0) -> FaceImages:
    """The built-in synthetic faces (:func:`bpnet.data.synthetic.synthetic_faces`) as FaceImages."""
    from bpnet.data.synthetic import synthetic_faces

    data = synthetic_faces(n_per_class=n_per_class, size=size, seed=seed, rgb=True)
    return as_tensors(dataclasses.replace(data, source=f"synthetic faces (seed {seed})"))


def load_image_folder(root: str | Path, size: int = 224, face_crop: bool | str = False,
                      skip_bad: bool = False, cache_dir: str | Path | None | bool = None,
                      progress: bool = False, workers: int | None = None,
                      cropper=None) -> FaceImages:
    """:func:`bpnet.data.image_dataset.load_image_folder` (same arguments), as tensors."""
    return as_tensors(image_dataset.load_image_folder(
        root, size, face_crop=face_crop, cropper=cropper, skip_bad=skip_bad,
        cache_dir=cache_dir, progress=progress, workers=workers))


def tone(images: Tensor, gray: bool = False, equalize: bool = False) -> Tensor:
    """:func:`bpnet.data.image_dataset.tone` of a uint8 tensor (``images`` itself if neither)."""
    if not (gray or equalize):
        return images
    return torch.from_numpy(image_dataset.tone(images.numpy(), gray, equalize))


def load_preset_data(root: str | Path, preset, **kwargs) -> FaceImages:
    """The image folder decoded as a :class:`~resnet_fer.config.Preset` (or its
    :class:`~resnet_fer.config.DataConfig` and train size) wants it.

    Parameters
    ----------
    root : str or Path
    preset : Preset
    **kwargs
        Passed on to :func:`bpnet.data.image_dataset.load_image_folder` (``cache_dir``,
        ``progress``, ``skip_bad``...).
    """
    return as_tensors(load_decoded(root, preset.data, preset.train.size, **kwargs))


def load_decoded(source, data, size: int, **kwargs) -> ImageDataset:
    """The uint8 set a :class:`~resnet_fer.config.DataConfig` describes: decoded at
    ``data.decode_size or size``, cropped as ``data.face_crop`` says, then toned."""
    cropper = make_cropper(data.face_crop, **data.cropper_kwargs())
    images = image_dataset.load_image_folder(source, data.decode_size or size,
                                             face_crop=data.face_crop, cropper=cropper, **kwargs)
    return dataclasses.replace(images, images=image_dataset.tone(images.images, data.gray,
                                                                 data.equalize))


class ImageStore:
    """A uint8 image set and its labels, served in batches on the training device.

    Parameters
    ----------
    images : Tensor or ndarray, uint8, shape (n, H, W, 3) or (n, H, W)
    labels : Tensor or ndarray, int, shape (n,)
    device : torch.device or str
    memory_budget : int, optional
        Bytes of device memory the images may take; default half of the free CUDA memory
        (no limit on CPU). A set larger than this stays in pinned host memory.

    Attributes
    ----------
    resident : bool
        True when the images live on ``device``.
    index_device : torch.device
        Where :meth:`gather` wants its indices (the device, or the CPU when streaming), so
        the trainer can move a whole epoch's order there once.
    """

    def __init__(self, images, labels, device: torch.device | str,
                 memory_budget: int | None = None) -> None:
        images = torch.as_tensor(images)
        labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        if images.dtype != torch.uint8 or images.ndim not in (3, 4) or len(images) != len(labels):
            raise ValueError(f"need uint8 images (n, H, W[, 3]) and n labels, got {images.dtype} "
                             f"{tuple(images.shape)} and {len(labels)} labels")
        self.device = torch.device(device)
        if memory_budget is None:
            memory_budget = (torch.cuda.mem_get_info(self.device)[0] // 2
                             if self.device.type == "cuda" else images.numel() + 1)
        self.resident = images.numel() <= memory_budget
        self._pin = self.device.type == "cuda"  # pinned memory needs (and only helps) CUDA
        if self.resident:
            self.images, self.labels = images.to(self.device), labels.to(self.device)
        else:
            # Pinned pages let the copy engine DMA each batch while the GPU computes.
            self.images = images.contiguous().pin_memory() if self._pin else images.contiguous()
            self.labels = labels
        self.index_device = self.device if self.resident else torch.device("cpu")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def nbytes(self) -> int:
        """Bytes taken by the images."""
        return self.images.numel()

    def gather(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """The images and labels at ``index``, on the device: (uint8 (B, H, W, 3), int64 (B,))."""
        if self.resident:
            index = index.to(self.device)
            return self.images[index], self.labels[index]
        index = index.cpu()
        batch = torch.empty((len(index),) + tuple(self.images.shape[1:]), dtype=torch.uint8,
                            pin_memory=self._pin)
        torch.index_select(self.images, 0, index, out=batch)
        # The caching host allocator keeps `batch` alive until its async copy is done.
        return (batch.to(self.device, non_blocking=self._pin),
                self.labels[index].to(self.device, non_blocking=self._pin))
