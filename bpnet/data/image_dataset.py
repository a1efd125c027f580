"""Decoded images: the one image loader and the one dataset type of both branches.

:func:`load_image_folder` decodes an ``<Emotion>/<name>.<ext>`` folder (listed by
:func:`~bpnet.data.image_folder.scan_image_folder`) into one uint8 array, at a chosen size,
optionally around the face (:mod:`bpnet.data.facecrop`, Haar box or eye-aligned), and caches
the result as one ``.npz`` (:mod:`bpnet.data.imagecache`) keyed by a hash of the file list,
every file's bytes and the settings: an image rewritten in place, even with the same size, is
decoded again. Files are decoded by :func:`bpnet.data.imageio.read_image`: 16-bit images are
scaled, not clipped to white, and an image over the pixel budget is refused with an error
naming it. A file that cannot be decoded raises an error naming it, or is skipped with a
warning when ``skip_bad=True``.

It returns an :class:`ImageDataset`: the uint8 images with their labels, groups and names,
and what the decoding found (face and eye detection, skipped files, cache use). The BP branch
computes descriptors from it; the ResNet branch (``resnet_fer.data``) only turns the images
into tensors. :func:`tone` greys and/or equalises a decoded set.
"""
from __future__ import annotations

import dataclasses
import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .facecrop import EYES, FaceAligner, import_cv2, make_cropper
from .image_folder import ImageFolder, scan_image_folder
from .imagecache import cache_key, default_cache_dir, read_cache, try_write_cache
from .imageio import read_image
from .sfew import CLASS_NAMES, class_summary, sample_ids

__all__ = ["ImageDataset", "load_image_dataset", "load_image_folder", "load_images", "tone"]


@dataclass(repr=False)
class ImageDataset:
    """Decoded images with labels and groups, and what the decoding found.

    Attributes
    ----------
    images : ndarray of uint8, shape (n, H, W, 3) or (n, H, W)
    y : ndarray of int64, shape (n,)
        Class index in ``class_names`` order.
    groups : ndarray of str, shape (n,)
        Movie (SFEW) or identity (synthetic) of each image, for person-independent splits.
    names : list of str, length n
    class_names : tuple of str
    source : str
        The folder, or a description of a generated set.
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

    images: np.ndarray
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

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=np.int64)
        self.groups = np.asarray(self.groups, dtype=str)
        self.names = list(self.names)
        self.class_names = tuple(self.class_names)
        n = len(self.y)
        if not self._uint8_images() or len(self.images) != n:
            raise ValueError(f"images must be uint8 (n, H, W[, 3]) with n={n}, "
                             f"got {self.images.dtype} {tuple(self.images.shape)}")
        if len(self.groups) != n or len(self.names) != n:
            raise ValueError(f"y, groups and names need one entry per image ({n})")

    def _uint8_images(self) -> bool:
        """Whether ``images`` has the type this class holds (a tensor view overrides it)."""
        return (isinstance(self.images, np.ndarray) and self.images.dtype == np.uint8
                and self.images.ndim in (3, 4))

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(images={tuple(self.images.shape)}, "
                f"groups={len(np.unique(self.groups))}, "
                f"classes: {class_summary(self.y, self.class_names)})")

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

    def subset(self, index: np.ndarray) -> "ImageDataset":
        """The images selected by an integer or boolean ``index`` (same type, same source)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        found = {k: None if v is None else v[index]
                 for k, v in (("face_found", self.face_found), ("eyes_found", self.eyes_found))}
        return dataclasses.replace(self, images=self.images[index], y=self.y[index],
                                   groups=self.groups[index], names=[self.names[i] for i in index],
                                   **found)


def _decode(path: Path, size: int | tuple[int, int], mode: str, cropper) -> tuple[np.ndarray, int]:
    """One file -> (uint8 pixels, crop status). Raises on undecodable data.

    The status is 0 (no face), 1 (a face) or, for the aligner, 2 (a face aligned on its eyes).
    """
    if cropper is None:
        # The whole frame, squashed to the output size; a JPEG decodes straight at 1/2, 1/4
        # or 1/8 scale, much faster than a full decode.
        return read_image(path, mode, size), 0
    crop, status = cropper.crop(read_image(path, "RGB"), size)
    return crop, int(status)


def _decode_all(pool: ThreadPoolExecutor, paths: list[Path], size, mode: str, cropper,
                progress: bool) -> list:
    """``(pixels, status)`` per file or, for a file that cannot be used, the reason."""
    def work(path: Path):
        try:
            return _decode(path, size, mode, cropper)
        except Exception as exc:  # read_image's errors name the file; a cropper's may not
            text = str(exc)
            return text if str(path) in text else (f"cannot decode image {path}: "
                                                   f"{type(exc).__name__}: {text}")

    results = pool.map(work, paths)
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=len(paths), desc="decoding images", unit="img")
    return list(results)


def load_image_folder(source: str | Path | ImageFolder, size: int | tuple[int, int] = 224, *,
                      grayscale: bool = False, face_crop: bool | str = False, cropper=None,
                      skip_bad: bool = False, cache_dir: str | Path | None | bool = None,
                      progress: bool = False, workers: int | None = None) -> ImageDataset:
    """Decode an image folder into one uint8 array, through an on-disk cache.

    Parameters
    ----------
    source : str, Path or ImageFolder
        ``<root>/<Emotion>/<name>.{png,jpg}``, or that folder already scanned.
    size : int or (height, width)
        Output size. Without ``face_crop`` the whole frame is resized (the aspect ratio is
        not kept: SFEW frames are whole movie frames); with it, a square (int only) around
        the largest face (or the centre square).
    grayscale : bool
        One luminance channel instead of RGB (whole frames only).
    face_crop : bool or {"none", "haar", "align"}
        ``"haar"`` (or True): a square around the largest Haar face box
        (:class:`~bpnet.data.facecrop.FaceCropper`); ``"align"``: a crop aligned on the eyes
        (:class:`~bpnet.data.facecrop.FaceAligner`); ``"none"`` (or False): the whole frame.
    cropper : FaceCropper or FaceAligner, optional
        Custom detector settings for ``face_crop`` (see :func:`~bpnet.data.facecrop.make_cropper`).
    skip_bad : bool
        Leave out files that cannot be decoded, with a warning, instead of raising.
    cache_dir : str, Path, None or False
        Where the cache lives; None: :func:`~bpnet.data.imagecache.default_cache_dir`;
        False: no cache.
    progress : bool
        A tqdm bar while decoding.
    workers : int, optional
        Decoding and hashing threads (Pillow, OpenCV and hashlib release the GIL); default
        ``min(8, cpu_count)``.

    Returns
    -------
    ImageDataset

    Raises
    ------
    ValueError
        A file that cannot be decoded or is over the pixel budget of
        :func:`bpnet.data.imageio.read_image` (named in the message), unless ``skip_bad``;
        a face crop asked for in grey or at a non-square size.

    Warns
    -----
    RuntimeWarning
        When the cache cannot be read (it is rebuilt) or written (the set is returned
        without it, ``cache_path=None``).
    """
    folder = source if isinstance(source, ImageFolder) else scan_image_folder(source)
    root = folder.root
    if cropper is None:
        cropper = make_cropper(face_crop)
    elif face_crop in (False, "none"):
        cropper = None
    if cropper is not None and (grayscale or not isinstance(size, int)):
        raise ValueError("face crops are square RGB images: pass an int size and grayscale=False")
    face_crop = cropper is not None
    aligned = isinstance(cropper, FaceAligner)
    # The settings (and so the cache keys) of square RGB sets are those of earlier versions.
    settings = {"size": int(size) if isinstance(size, int) else [int(v) for v in size],
                "skip_bad": bool(skip_bad),
                "face_crop": cropper.settings() if cropper is not None else None,
                "class_names": list(folder.class_names)}
    if grayscale:
        settings["grayscale"] = True
    tag = f"{size}px" if isinstance(size, int) else f"{size[0]}x{size[1]}px"
    key = cache_path = None
    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        if cache_dir is not False:
            key = cache_key(folder, settings, pool)
            cache_root = default_cache_dir() if cache_dir is None else Path(cache_dir)
            cache_path = cache_root / f"{Path(root).resolve().name}-{tag}-{key}.npz"
            cached = read_cache(cache_path, key)
            if cached is not None:
                status = cached["status"]
                return ImageDataset(cached["images"], cached["y"].astype(np.int64),
                                    cached["groups"], [str(n) for n in cached["names"]],
                                    folder.class_names, str(root), status > 0 if face_crop else None,
                                    status == EYES if aligned else None,
                                    [str(b) for b in cached["skipped"]], True, cache_path)
        results = _decode_all(pool, folder.paths, size, "L" if grayscale else "RGB", cropper,
                              progress)
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
    shape = (size, size) if isinstance(size, int) else tuple(size)
    empty = np.zeros((0,) + shape + (() if grayscale else (3,)), np.uint8)
    images = np.stack([r[0] for r in good]) if good else empty
    arrays = {"images": images, "y": folder.y[keep], "groups": folder.groups[keep],
              "names": np.array([n for n, k in zip(folder.names, keep) if k], dtype=str),
              "status": np.array([r[1] for r in good], dtype=np.int8),
              "skipped": np.array(bad, dtype=str),
              "meta": np.array(json.dumps({"key": key, "root": str(root), "settings": settings}))}
    if cache_path is not None and not try_write_cache(cache_path, arrays):
        cache_path = None
    status = arrays["status"]
    return ImageDataset(images, arrays["y"], arrays["groups"], [str(n) for n in arrays["names"]],
                        folder.class_names, str(root), status > 0 if face_crop else None,
                        status == EYES if aligned else None, bad, False, cache_path)


def tone(images: np.ndarray, gray: bool = False, equalize: bool = False) -> np.ndarray:
    """Grey and/or histogram-equalised copies of uint8 images (n, H, W, 3).

    Both take away what a movie's colour grading and lighting say about the movie (and so,
    under a random split, about the label) and keep what the face says: ``gray`` keeps the
    luma (ITU-R 601) in all three channels; ``equalize`` spreads each image's luma over
    0..255 (``cv2.equalizeHist``; on colour images the luma of YCrCb, hue kept). With
    neither, ``images`` itself is returned.
    """
    if not (gray or equalize):
        return images
    cv2 = import_cv2()
    out = []
    for image in images:
        if gray:
            y = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            image = cv2.cvtColor(cv2.equalizeHist(y) if equalize else y, cv2.COLOR_GRAY2RGB)
        else:
            ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
            ycc[..., 0] = cv2.equalizeHist(np.ascontiguousarray(ycc[..., 0]))
            image = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
        out.append(image)
    return np.stack(out) if out else images


def load_image_dataset(folder: ImageFolder, size: int | tuple[int, int] = (64, 64),
                       grayscale: bool = False, progress: bool = False) -> ImageDataset:
    """:func:`load_image_folder` of a scanned folder, whole frames, without the disk cache."""
    return load_image_folder(folder, size, grayscale=grayscale, cache_dir=False,
                             progress=progress)


def load_images(folder: ImageFolder, size: int | tuple[int, int] = (64, 64),
                grayscale: bool = False, progress: bool = False) -> np.ndarray:
    """The pixels of :func:`load_image_dataset`: uint8 ``(n, H, W)`` or ``(n, H, W, 3)``."""
    return load_image_dataset(folder, size, grayscale, progress).images
