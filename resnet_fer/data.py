"""Images as one uint8 tensor: decode once, cache on disk, keep on the training device.

* :func:`load_image_folder` decodes an ``<Emotion>/<name>.<ext>`` folder (listed by
  :func:`bpnet.data.image_folder.scan_image_folder`) at a chosen size, optionally around the face
  (:class:`resnet_fer.faces.FaceCropper`), and caches the result as one ``.npz`` keyed by a
  hash of the file list, every file's bytes and the settings (an image rewritten in place,
  even with the same size, is decoded again); a cache file that cannot be read is rebuilt,
  one that cannot be written (a full disk) is skipped with a warning. Files are decoded by
  :func:`bpnet.data.imageio.read_image`, as in the BP branch: 16-bit images are scaled, not
  clipped to white, and an image over the pixel budget is refused with an error naming it.
  A file that cannot be decoded raises an error naming it, or is skipped with a warning
  when ``skip_bad=True``.
* :func:`synthetic_images` is the built-in offline data (:func:`bpnet.data.synthetic.synthetic_faces`).
* :class:`ImageStore` holds the set on the training device as uint8, or, when it does not
  fit a memory budget, in pinned host memory from which each batch is gathered and copied
  asynchronously; either way :meth:`ImageStore.gather` returns the same uint8 batch.
"""
from __future__ import annotations

import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from bpnet.data.image_folder import scan_image_folder
from bpnet.data.imageio import read_image
from bpnet.data.sfew import CLASS_NAMES, sample_ids

from .faces import import_cv2
from .imagecache import cache_key, default_cache_dir, read_cache, try_write_cache

__all__ = ["FACE_CROPS", "FaceImages", "ImageStore", "load_image_folder",
           "load_preset_data", "make_cropper", "synthetic_images", "tone"]

@dataclass
class FaceImages:
    """A decoded image set with its labels.

    Attributes
    ----------
    images : Tensor, uint8, shape (n, size, size, 3), on the CPU
    y : ndarray of int64, shape (n,)
    groups : ndarray of str, shape (n,)
        Movie (SFEW) or identity (synthetic) of each image, for grouped splits.
    names : list of str
    class_names : tuple of str
    source : str
        The folder, or a description of the synthetic set.
    face_found : ndarray of bool, shape (n,), or None
        Whether a face was detected (None without face cropping).
    eyes_found : ndarray of bool, shape (n,), or None
        Whether both eyes were found and the crop aligned on them (None unless the crops
        are aligned, ``face_crop="align"``).
    skipped : list of str
        Files left out by ``skip_bad``, each with the reason.
    from_cache : bool
    cache_path : Path or None
    """

    images: Tensor
    y: np.ndarray
    groups: np.ndarray
    names: list[str]
    class_names: tuple[str, ...] = CLASS_NAMES
    source: str = ""
    face_found: np.ndarray | None = None
    eyes_found: np.ndarray | None = None
    skipped: list[str] = field(default_factory=list)
    from_cache: bool = False
    cache_path: Path | None = None

    def __len__(self) -> int:
        return len(self.y)

    @property
    def sample_ids(self) -> list[str]:
        """``"<Class>/<name>"`` per image (:func:`bpnet.data.sfew.sample_ids`)."""
        return sample_ids(self.names, self.y, self.class_names)

    @property
    def detection_rate(self) -> float | None:
        """Fraction of images in which a face was found (None without face cropping)."""
        return None if self.face_found is None else float(np.mean(self.face_found))

    def describe(self) -> str:
        """One line: count, size, source and, with face cropping, the detection rate."""
        n, h, w = self.images.shape[:3]
        text = f"{n} images {h}x{w} from {self.source}"
        if self.face_found is not None:
            text += (f"; face found in {self.face_found.sum()}/{n} ({self.detection_rate:.1%}), "
                     "centre crop for the rest")
        if self.eyes_found is not None:
            text += (f"; aligned on both eyes in {self.eyes_found.sum()}/{n} "
                     f"({np.mean(self.eyes_found):.1%}), face-box geometry for the other faces")
        if self.skipped:
            text += f"; {len(self.skipped)} unreadable file(s) skipped"
        return text + (" (cached)" if self.from_cache else "")


def synthetic_images(n_per_class: int = 60, size: int = 64, seed: int = 0) -> FaceImages:
    """The built-in synthetic faces (:func:`bpnet.data.synthetic.synthetic_faces`) as a FaceImages."""
    from bpnet.data.synthetic import synthetic_faces

    data = synthetic_faces(n_per_class=n_per_class, size=size, seed=seed, rgb=True)
    return FaceImages(torch.from_numpy(data.images), data.y, data.groups, data.names,
                      tuple(data.class_names), source=f"synthetic faces (seed {seed})")


#: Values of ``face_crop``: none, a square around the Haar face box, an eye-aligned crop.
FACE_CROPS = ("none", "haar", "align")


def make_cropper(face_crop: bool | str, **kwargs):
    """The cropper for a ``face_crop`` value (True means ``"haar"``), or None for the whole frame.

    ``kwargs`` go to :class:`resnet_fer.align.FaceAligner` (``eye_distance``, ``eye_y``) or
    :class:`resnet_fer.faces.FaceCropper` (``margin``).
    """
    mode = "haar" if face_crop is True else "none" if face_crop is False else face_crop
    if mode not in FACE_CROPS:
        raise ValueError(f"face_crop must be one of {FACE_CROPS} (or a bool), got {face_crop!r}")
    if mode == "align":
        from .align import FaceAligner

        return FaceAligner(**kwargs)
    if mode == "haar":
        from .faces import FaceCropper

        return FaceCropper(**kwargs)
    return None


def _decode(path: Path, size: int, cropper) -> tuple[np.ndarray, int]:
    """One file -> (uint8 (size, size, 3), crop status). Raises on undecodable data.

    The status is 0 (no face), 1 (a face) or, for the aligner, 2 (a face aligned on its eyes).
    """
    if cropper is None:
        # The whole frame, squashed to a square (as bpnet.data.image_folder.load_images does);
        # a JPEG decodes straight at 1/2, 1/4 or 1/8 scale, much faster than a full decode.
        return read_image(path, "RGB", size), 0
    crop, status = cropper.crop(read_image(path, "RGB"), size)
    return crop, int(status)


def _decode_all(pool: ThreadPoolExecutor, paths: list[Path], size: int, cropper,
                progress: bool) -> list:
    """``(pixels, status)`` per file or, for a file that cannot be used, the reason."""
    def work(path: Path):
        try:
            return _decode(path, size, cropper)
        except Exception as exc:  # read_image's errors name the file; a cropper's may not
            text = str(exc)
            return text if str(path) in text else (f"cannot decode image {path}: "
                                                   f"{type(exc).__name__}: {text}")

    results = pool.map(work, paths)
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=len(paths), desc="decoding images", unit="img")
    return list(results)


def load_image_folder(root: str | Path, size: int = 224, face_crop: bool | str = False,
                      skip_bad: bool = False, cache_dir: str | Path | None | bool = None,
                      progress: bool = False, workers: int | None = None,
                      cropper=None) -> FaceImages:
    """Decode an image folder into one uint8 tensor, through an on-disk cache.

    Parameters
    ----------
    root : str or Path
        ``<root>/<Emotion>/<name>.{png,jpg}``.
    size : int
        Output height and width. Without ``face_crop`` the whole frame is resized to a
        square; with it, a square around the largest face (or the centre square).
    face_crop : bool or {"none", "haar", "align"}
        ``"haar"`` (or True): a square around the largest Haar face box
        (:class:`resnet_fer.faces.FaceCropper`); ``"align"``: a crop aligned on the eyes
        (:class:`resnet_fer.align.FaceAligner`); ``"none"`` (or False): the whole frame.
    skip_bad : bool
        Leave out files that cannot be decoded, with a warning, instead of raising.
    cache_dir : str, Path, None or False
        Where the cache lives; None: :func:`~resnet_fer.imagecache.default_cache_dir`; False: no cache.
    progress : bool
        A tqdm bar while decoding.
    workers : int, optional
        Decoding and hashing threads (Pillow, OpenCV and hashlib release the GIL); default
        ``min(8, cpu_count)``.
    cropper : FaceCropper or FaceAligner, optional
        Custom detector settings for ``face_crop`` (see :func:`make_cropper`).

    Returns
    -------
    FaceImages

    Raises
    ------
    ValueError
        A file that cannot be decoded or is over the pixel budget of
        :func:`bpnet.data.imageio.read_image` (named in the message), unless ``skip_bad``.

    Warns
    -----
    RuntimeWarning
        When the cache cannot be read (it is rebuilt) or written (the set is returned
        without it, ``cache_path=None``).
    """
    folder = scan_image_folder(root)
    if cropper is None:
        cropper = make_cropper(face_crop)
    elif face_crop in (False, "none"):
        cropper = None
    face_crop = cropper is not None
    aligned = face_crop and hasattr(cropper, "eye_distance")
    settings = {"size": int(size), "skip_bad": bool(skip_bad),
                "face_crop": cropper.settings() if cropper is not None else None,
                "class_names": list(folder.class_names)}
    key = cache_path = None
    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        if cache_dir is not False:
            key = cache_key(folder, settings, pool)
            cache_root = default_cache_dir() if cache_dir is None else Path(cache_dir)
            cache_path = cache_root / f"{Path(root).resolve().name}-{size}px-{key}.npz"
            cached = read_cache(cache_path, key)
            if cached is not None:
                status = cached["status"]
                return FaceImages(torch.from_numpy(cached["images"]), cached["y"].astype(np.int64),
                                  cached["groups"], [str(n) for n in cached["names"]],
                                  folder.class_names, str(root), status > 0 if face_crop else None,
                                  status == 2 if aligned else None,
                                  [str(b) for b in cached["skipped"]], True, cache_path)
        results = _decode_all(pool, folder.paths, size, cropper, progress)
    bad = [r for r in results if isinstance(r, str)]
    if bad and not skip_bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ValueError(f"{bad[0]}{more}; pass skip_bad=True (--skip-bad) to leave unreadable "
                         "files out")
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable image(s): " + "; ".join(bad), UserWarning,
                      stacklevel=2)
    keep = np.array([not isinstance(r, str) for r in results], dtype=bool)
    good = [r for r in results if not isinstance(r, str)]
    images = np.stack([r[0] for r in good]) if good else np.zeros((0, size, size, 3), np.uint8)
    arrays = {"images": images, "y": folder.y[keep], "groups": folder.groups[keep],
              "names": np.array([n for n, k in zip(folder.names, keep) if k], dtype=str),
              "status": np.array([r[1] for r in good], dtype=np.int8),
              "skipped": np.array(bad, dtype=str),
              "meta": np.array(json.dumps({"key": key, "root": str(root), "settings": settings}))}
    if cache_path is not None and not try_write_cache(cache_path, arrays):
        cache_path = None
    status = arrays["status"]
    return FaceImages(torch.from_numpy(images), arrays["y"], arrays["groups"],
                      [str(n) for n in arrays["names"]], folder.class_names, str(root),
                      status > 0 if face_crop else None, status == 2 if aligned else None,
                      bad, False, cache_path)


def tone(images: Tensor, gray: bool = False, equalize: bool = False) -> Tensor:
    """Grey and/or histogram-equalised copies of uint8 images (n, H, W, 3).

    Both take away what a movie's colour grading and lighting say about the movie (and so,
    under a random split, about the label) and keep what the face says: ``gray`` keeps the
    luma (ITU-R 601) in all three channels; ``equalize`` spreads each image's luma over
    0..255 (``cv2.equalizeHist``; on colour images the luma of YCrCb, hue kept).
    """
    if not (gray or equalize):
        return images
    cv2 = import_cv2()
    out = []
    for image in images.numpy():
        if gray:
            y = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            image = cv2.cvtColor(cv2.equalizeHist(y) if equalize else y, cv2.COLOR_GRAY2RGB)
        else:
            ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
            ycc[..., 0] = cv2.equalizeHist(np.ascontiguousarray(ycc[..., 0]))
            image = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
        out.append(image)
    return torch.from_numpy(np.stack(out)) if out else images


def load_preset_data(root: str | Path, preset, **kwargs) -> FaceImages:
    """The image folder decoded as a :class:`~resnet_fer.config.Preset` (or its
    :class:`~resnet_fer.config.DataConfig` and train size) wants it.

    Parameters
    ----------
    root : str or Path
    preset : Preset
    **kwargs
        Passed on to :func:`load_image_folder` (``cache_dir``, ``progress``, ``skip_bad``...).
    """
    data, size = preset.data, preset.train.size
    cropper = make_cropper(data.face_crop, **data.cropper_kwargs())
    images = load_image_folder(root, size=data.decode_size or size, face_crop=data.face_crop,
                               cropper=cropper, **kwargs)
    images.images = tone(images.images, data.gray, data.equalize)
    return images


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
