"""Rebuild the paper's dataset 1 from images: LPQ and PHOG, each reduced by PCA.

Dataset 1 holds, per image, "the first 5 principal components of LPQ and of PHOG
features": 10 numbers named ``lpq_pc1..lpq_pc5, phog_pc1..phog_pc5``.
:func:`extract_features` computes them from a folder ``<Emotion>/<name>.{png,jpg}``::

    from bpnet.data.features import extract_features
    data = extract_features("../shared/data/sfew/images")   # FeatureDataset, X (675, 10)

The descriptors themselves (:func:`lpq`, :func:`lpq_codes`, :func:`phog`,
:func:`canny_edges`, :func:`to_gray`) live in :mod:`bpnet.data.descriptors` and are
re-exported here.

Leakage: like the paper's spreadsheet, :func:`extract_features` fits the PCA on every
image in the folder, test images included. For honest cross-validation ask for the
raw descriptors (``return_descriptors=True``) and fit a :class:`DescriptorPCA` on each
training fold only, then transform that fold's test images with it.

The SFEW images are whole movie frames. Features computed from them do not
reproduce the spreadsheet's values (no column pair correlates above ``|r| = 0.26`` on
the 675 images), so the sheet was presumably computed from face crops, which
``face_crop`` lets a caller supply.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Optional, Union

import numpy as np
from numpy.typing import ArrayLike
from PIL import Image

from .descriptors import (
    LUMA_WEIGHTS,
    canny_edges,
    lpq,
    lpq_codes,
    lpq_decorrelation,
    phog,
    to_gray,
)
from .image_folder import scan_image_folder
from .imageio import read_image
from .sfew import FeatureDataset

__all__ = [
    "LUMA_WEIGHTS", "PCA", "DescriptorPCA", "canny_edges", "describe_images", "extract_features",
    "image_dataset_features", "load_image", "lpq", "lpq_codes", "lpq_decorrelation", "pca", "phog",
    "to_gray",
]

#: A crop box ``(left, upper, right, lower)`` in pixels (Pillow's convention), or a
#: function from a Pillow image to a Pillow image (e.g. a face detector's crop).
FaceCrop = Optional[Union[tuple[int, int, int, int], Callable[[Image.Image], Image.Image]]]


class PCA:
    """Principal component analysis by SVD of the centred training data.

    Matches ``sklearn.decomposition.PCA(svd_solver="full")`` (no whitening) to
    rounding: the same ``(n - 1)`` variance denominator and the same sign convention
    as scikit-learn's ``svd_flip(u_based_decision=False)``, i.e. the entry of largest
    absolute value in every row of ``components_`` is positive (first one on a tie).

    Parameters
    ----------
    n_components : int or None
        Components kept, ``1 <= n_components <= min(n_samples, n_features)``;
        None keeps all of them.

    Attributes
    ----------
    components_ : (n_components, n_features) ndarray
        Orthonormal principal axes, largest variance first.
    mean_ : (n_features,) ndarray
    explained_variance_ : (n_components,) ndarray
        Variance along each axis, ``S**2 / (n_samples - 1)``.
    explained_variance_ratio_ : (n_components,) ndarray
        Share of the total variance (all components, kept or not); zeros when the data
        has no variance.
    singular_values_ : (n_components,) ndarray
    n_components_ : int
    """

    def __init__(self, n_components: int | None = None) -> None:
        self.n_components = n_components

    def fit(self, X: ArrayLike) -> "PCA":
        """Fit on ``X : (n_samples, n_features)``, n_samples >= 2."""
        X = _as_matrix(X, "X")
        n, p = X.shape
        if n < 2:
            raise ValueError(f"PCA needs at least 2 samples, got {n}")
        k = min(n, p) if self.n_components is None else int(self.n_components)
        if not 1 <= k <= min(n, p):
            raise ValueError(f"n_components={self.n_components} must lie in 1..{min(n, p)} "
                             f"(min of n_samples={n}, n_features={p})")
        self.mean_ = X.mean(axis=0)
        _, S, Vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        pivot = np.argmax(np.abs(Vt), axis=1)
        Vt *= np.where(Vt[np.arange(len(Vt)), pivot] < 0, -1.0, 1.0)[:, None]
        variance = S ** 2 / (n - 1)
        total = variance.sum()
        self.components_ = Vt[:k]
        self.explained_variance_ = variance[:k]
        self.explained_variance_ratio_ = variance[:k] / total if total > 0 else np.zeros(k)
        self.singular_values_ = S[:k]
        self.n_components_ = k
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Project ``X : (n_samples, n_features)`` to ``(n_samples, n_components)``."""
        if not hasattr(self, "components_"):
            raise RuntimeError("this PCA is not fitted yet: call fit first")
        X = _as_matrix(X, "X")
        if X.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X has {X.shape[1]} features, the PCA was fitted on "
                             f"{self.mean_.shape[0]}")
        return (X - self.mean_) @ self.components_.T

    def fit_transform(self, X: ArrayLike) -> np.ndarray:
        """``fit(X).transform(X)``, shape ``(n_samples, n_components)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: ArrayLike) -> np.ndarray:
        """Map scores ``Z : (n_samples, n_components)`` back to ``(n_samples, n_features)``."""
        return np.asarray(Z, dtype=np.float64) @ self.components_ + self.mean_


def pca(X: ArrayLike, n_components: int | None = None) -> np.ndarray:
    """Scores of ``X : (n_samples, n_features)`` on its first principal components.

    Returns
    -------
    scores : (n_samples, n_components) ndarray
        ``PCA(n_components).fit_transform(X)``.
    """
    return PCA(n_components).fit_transform(X)


def _as_matrix(X: ArrayLike, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape (n_samples, n_features), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or inf")
    return X


class DescriptorPCA:
    """Separate PCAs of LPQ and PHOG descriptors, scores side by side (dataset 1).

    Fit it on the training images of a fold and transform the test images with it to
    keep the test images out of the principal axes.

    Parameters
    ----------
    n_components : int
        Components kept from each descriptor (5 in the paper).

    Attributes
    ----------
    lpq_pca_, phog_pca_ : PCA
    feature_names_ : list of str
        ``lpq_pc1..lpq_pcK, phog_pc1..phog_pcK``.
    """

    def __init__(self, n_components: int = 5) -> None:
        self.n_components = n_components

    def fit(self, lpq_desc: ArrayLike, phog_desc: ArrayLike) -> "DescriptorPCA":
        """Fit on ``lpq_desc : (n, 256)`` and ``phog_desc : (n, D)``."""
        self.lpq_pca_ = PCA(self.n_components).fit(lpq_desc)
        self.phog_pca_ = PCA(self.n_components).fit(phog_desc)
        k = self.n_components
        self.feature_names_ = ([f"lpq_pc{i}" for i in range(1, k + 1)]
                               + [f"phog_pc{i}" for i in range(1, k + 1)])
        return self

    def transform(self, lpq_desc: ArrayLike, phog_desc: ArrayLike) -> np.ndarray:
        """Features of shape ``(n, 2 * n_components)``: LPQ scores, then PHOG scores."""
        return np.hstack([self.lpq_pca_.transform(lpq_desc), self.phog_pca_.transform(phog_desc)])

    def fit_transform(self, lpq_desc: ArrayLike, phog_desc: ArrayLike) -> np.ndarray:
        """``fit(...).transform(...)``, shape ``(n, 2 * n_components)``."""
        return self.fit(lpq_desc, phog_desc).transform(lpq_desc, phog_desc)


def load_image(path: str | Path, size: int | tuple[int, int] | None = None,
               face_crop: FaceCrop = None) -> np.ndarray:
    """Read an image file as grayscale float64 (:func:`to_gray` of its RGB pixels).

    Parameters
    ----------
    path : str or Path
    size : int or (width, height) or None
        Resize (bilinear) after cropping; an int means a square. None keeps the size.
    face_crop : (left, upper, right, lower) or callable or None
        A fixed pixel box, or a function ``PIL.Image -> PIL.Image``, applied first.

    Returns
    -------
    gray : (H, W) float64
        Intensities 0..255.
    """
    if face_crop is None:
        target = None if size is None else ((size, size) if isinstance(size, int)
                                            else (size[1], size[0]))
        return to_gray(read_image(path, "RGB", target))
    img = Image.fromarray(read_image(path, "RGB"))
    img = face_crop(img) if callable(face_crop) else img.crop(tuple(face_crop))
    if size is not None:
        wh = (size, size) if isinstance(size, int) else tuple(size)
        img = img.resize(wh, Image.Resampling.BILINEAR)
    return to_gray(np.asarray(img))


def describe_images(images: Iterable[ArrayLike | str | Path], *, win: int = 7,
                    decorrelate: bool = True, rho: float = 0.90, bins: int = 8,
                    levels: int = 3, angle: int = 360, edges: str = "canny",
                    size: int | tuple[int, int] | None = None, face_crop: FaceCrop = None,
                    progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """LPQ and PHOG descriptors of many images.

    Images are processed one at a time, so an iterable of file paths streams from disk
    (675 SFEW frames in float64 would need ~0.5 GB at once).

    Parameters
    ----------
    images : (n, H, W) or (n, H, W, 3) array, or iterable of arrays or file paths
        Images may differ in size.
    win, decorrelate, rho
        LPQ settings (:func:`lpq`).
    bins, levels, angle, edges
        PHOG settings (:func:`phog`).
    size, face_crop
        Applied to file paths only (:func:`load_image`).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    lpq_desc : (n, 256) float64
    phog_desc : (n, bins * sum(4**l for l in range(levels + 1))) float64
    """
    try:
        total = len(images)  # type: ignore[arg-type]
    except TypeError:
        total = None
    lpq_rows, phog_rows = [], []
    from tqdm.auto import tqdm

    for item in tqdm(images, total=total, disable=not progress, desc="LPQ+PHOG", unit="img"):
        if isinstance(item, (str, Path)):
            gray = load_image(item, size=size, face_crop=face_crop)
        else:
            gray = to_gray(item)
        lpq_rows.append(lpq(gray, win=win, decorrelate=decorrelate, rho=rho))
        phog_rows.append(phog(gray, bins=bins, levels=levels, angle=angle, edges=edges))
    if not lpq_rows:
        raise ValueError("no images to describe")
    return np.vstack(lpq_rows), np.vstack(phog_rows)


def extract_features(folder: str | Path, size: int | tuple[int, int] | None = None,
                     n_components: int = 5, face_crop: FaceCrop = None, progress: bool = True,
                     return_descriptors: bool = False, **descriptor_kw):
    """The paper's dataset 1 rebuilt from an image folder.

    Scans ``folder/<Emotion>/<name>.{png,jpg}`` with
    :func:`bpnet.data.image_folder.scan_image_folder`, computes LPQ and PHOG per image
    (:func:`describe_images`) and keeps the first ``n_components`` principal components
    of each, PCA fitted on all images of the folder (as the paper's spreadsheet did; see
    the module docstring for leakage-free cross-validation).

    Parameters
    ----------
    folder : str or Path
    size : int or (width, height) or None
        Resize every image (after ``face_crop``); None keeps the files' size.
    n_components : int
        Principal components per descriptor.
    face_crop : (left, upper, right, lower) or callable or None
        See :func:`load_image`. SFEW's images are whole movie frames, not face crops.
    progress : bool
        tqdm progress bar over the images.
    return_descriptors : bool
        Also return the raw descriptors, for fitting :class:`DescriptorPCA` per fold.
    **descriptor_kw
        LPQ and PHOG settings passed to :func:`describe_images` (``win``, ``rho``, ...).

    Returns
    -------
    dataset : bpnet.data.sfew.FeatureDataset
        ``X : (n_images, 2 * n_components)``, features ``lpq_pc1.., phog_pc1..``.
    lpq_desc : (n_images, 256) ndarray
        Only with ``return_descriptors=True``.
    phog_desc : (n_images, D) ndarray
        Only with ``return_descriptors=True``.
    """
    scan = scan_image_folder(folder)
    lpq_desc, phog_desc = describe_images(list(scan.paths), size=size, face_crop=face_crop,
                                          progress=progress, **descriptor_kw)
    dataset = _reduce(scan, lpq_desc, phog_desc, n_components)
    return (dataset, lpq_desc, phog_desc) if return_descriptors else dataset


def image_dataset_features(images, n_components: int = 5, progress: bool = True,
                           **descriptor_kw):
    """:func:`extract_features` for images already in memory (an ``ImageDataset``).

    This is how the built-in synthetic faces become the paper's dataset 1:
    ``image_dataset_features(bpnet.data.synthetic.synthetic_faces())``.
    """
    lpq_desc, phog_desc = describe_images(images.images, progress=progress, **descriptor_kw)
    return _reduce(images, lpq_desc, phog_desc, n_components)


def _reduce(source, lpq_desc, phog_desc, n_components: int):
    """First PCs of both descriptors (PCA fitted on all rows) as a FeatureDataset."""
    reducer = DescriptorPCA(n_components)
    X = reducer.fit_transform(lpq_desc, phog_desc)
    return FeatureDataset(X, np.asarray(source.y), list(source.names), np.asarray(source.groups),
                          feature_names=reducer.feature_names_,
                          class_names=tuple(source.class_names))
