"""The data a ``bpnet`` command reads: a feature sheet, an image folder, or synthetic faces.

Errors are ValueErrors naming ``--data``: the command line prints them as one line.
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["load_feature_data"]


def load_feature_data(data: str | None, seed: int = 0, progress: bool = True):
    """A FeatureDataset from a sheet, an image folder, or (None) the synthetic faces."""
    from .data.features import extract_features, image_dataset_features
    from .data.sfew import load_sfew_features
    from .data.synthetic import synthetic_faces

    if data is None:
        return image_dataset_features(synthetic_faces(seed=seed), progress=progress)
    path = Path(data)
    if path.is_dir():
        return _present_classes(extract_features(path, progress=progress), data)
    if not path.is_file():
        raise ValueError(f"--data {data}: no such file or folder")
    return _present_classes(load_sfew_features(path, nan_policy="mean"), data)


def _present_classes(ds, data: str):
    """The dataset over the classes it holds (a note names those left out); one is refused."""
    import dataclasses

    from .split_classes import present_classes

    try:
        y, names, left = present_classes(ds.y, ds.class_names)
    except ValueError as exc:  # "100 %" on one class would be no result at all
        raise ValueError(f"--data {data}: {exc}") from None
    if left:
        print(f"note: {len(names)} classes: no row of {', '.join(left)}", file=sys.stderr)
    return dataclasses.replace(ds, y=y, class_names=names)
