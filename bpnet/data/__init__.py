"""The data side of the study: everything between files on disk and the arrays the models take.

=====================  ===============================================================
module                 what it holds
=====================  ===============================================================
:mod:`.sfew`           class names, the SFEW feature sheet (``SFEW.xlsx``/CSV) loader
:mod:`.image_folder`   ``<Emotion>/<name>.<ext>`` folders: scan, cross-check
:mod:`.image_dataset`  the one image loader (decode, crop, cache) and ``ImageDataset``
:mod:`.facecrop`       face crops: Haar square box or eye-aligned (OpenCV, optional)
:mod:`.imagecache`     the on-disk cache of decoded images
:mod:`.descriptors`    the PHOG and LPQ descriptors of one image
:mod:`.hog`            the HOG descriptor of one image (Dalal & Triggs)
:mod:`.features`       dataset 1 from images: descriptors of a folder, then PCA
:mod:`.synthetic`      the built-in synthetic faces (drawn by :mod:`.facedraw`)
=====================  ===============================================================

Only this package uses Pillow, openpyxl and OpenCV (scipy too, besides the statistics modules); the
network core never imports it. The names most used are importable from here
(``from bpnet.data import load_sfew_features``); each submodule is imported on first use, so
importing one loader does not load the others.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "CLASS_NAMES": "sfew", "DataQuirkWarning": "sfew", "FeatureDataset": "sfew",
    "load_sfew_features": "sfew", "save_features_csv": "sfew", "movie_from_name": "sfew",
    "ImageFolder": "image_folder", "scan_image_folder": "image_folder",
    "cross_check": "image_folder",
    "ImageDataset": "image_dataset", "load_image_folder": "image_dataset",
    "load_images": "image_dataset", "load_image_dataset": "image_dataset", "tone": "image_dataset",
    "FaceAligner": "facecrop", "FaceCropper": "facecrop", "make_cropper": "facecrop",
    "extract_features": "features", "image_dataset_features": "features",
    "synthetic_faces": "synthetic", "write_image_folder": "synthetic",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
