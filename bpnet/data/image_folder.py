"""Image folders in the ``<Emotion>/<name>.<ext>`` layout: scan and cross-check.

:func:`scan_image_folder` lists the files and their labels (class = folder), and
:func:`cross_check` compares a folder with a feature sheet of the same data (names and
labels). Decoding is :func:`bpnet.data.image_dataset.load_image_folder`.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from .sfew import (
    CLASS_NAMES,
    DataQuirkWarning,
    FeatureDataset,
    class_summary,
    format_quirks,
    movie_from_name,
    sample_ids,
)

__all__ = ["CrossCheckReport", "IMAGE_EXTENSIONS", "ImageFolder", "cross_check", "scan_image_folder"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def _and(words: Sequence[str]) -> str:
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


@dataclass
class ImageFolder:
    """The files of an ``<Emotion>/<name>.<ext>`` folder, not yet decoded.

    Attributes
    ----------
    root : Path
    paths : list of Path, length n_images
    y : ndarray of int, shape (n_images,)
        Index of the class folder in ``class_names``.
    names : list of str
        File names without extension.
    groups : ndarray of str, shape (n_images,)
        Movie (or synthetic identity) of each image, from :func:`movie_from_name`.
    class_names : tuple of str
    """

    root: Path
    paths: list[Path]
    y: np.ndarray
    names: list[str]
    groups: np.ndarray
    class_names: tuple[str, ...] = CLASS_NAMES

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return (f"ImageFolder({str(self.root)!r}, n={len(self)}, "
                f"classes: {class_summary(self.y, self.class_names)})")

    @property
    def sample_ids(self) -> list[str]:
        """``"<Class>/<name>"`` per file (:func:`bpnet.data.sfew.sample_ids`)."""
        return sample_ids(self.names, self.y, self.class_names)

    def duplicate_names(self) -> dict[str, list[str]]:
        """Names stored in more than one class folder -> those folders' class names."""
        folders = defaultdict(list)
        for name, label in zip(self.names, self.y):
            folders[name].append(self.class_names[label])
        return {name: found for name, found in folders.items() if len(found) > 1}


def _scan(
    root: str | Path,
    class_names: Sequence[str] = CLASS_NAMES,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
    allow_empty: bool = False,
    verify: bool = False,
) -> tuple[ImageFolder, list[str]]:
    """:func:`scan_image_folder` without the warning: the folder and the report lines about
    ignored entries (duplicate names are left to ``ImageFolder.duplicate_names``)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    class_names = tuple(class_names)
    extensions = tuple(e.lower() for e in extensions)
    subdirs = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    unknown = sorted(subdirs - set(class_names))
    if unknown:
        shown = ", ".join(unknown[:8]) + (f" and {len(unknown) - 8} more" if len(unknown) > 8
                                          else "")
        raise ValueError(f"{root}: unknown class folder(s) {shown}; expected an "
                         f"<Emotion>/<name>.jpg folder with folders among {', '.join(class_names)}")
    paths, y, ignored, empty = [], [], [], []
    for k, cls in enumerate(class_names):
        entries = sorted((root / cls).iterdir()) if (root / cls).is_dir() else []
        # hidden files (macOS's "._name.jpg" resource forks, ".DS_Store") are never images
        files = [p for p in entries if p.is_file() and p.suffix.lower() in extensions
                 and not p.name.startswith(".")]
        ignored += [p for p in entries if p not in files and not p.name.startswith(".")]
        if not files:
            empty.append(cls if (root / cls).is_dir() else f"{cls} (folder missing)")
        paths += files
        y += [k] * len(files)
    if empty and not allow_empty:
        raise ValueError(f"{root}: no {'/'.join(extensions)} images for class(es) "
                         f"{', '.join(empty)}; every class needs images")
    if verify:
        broken = []
        for path in paths:
            try:
                with Image.open(path) as image:
                    image.verify()
            except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError... on bad data
                broken.append(f"{path} ({type(exc).__name__}: {exc})")
        if broken:
            raise ValueError(f"{root}: {len(broken)} file(s) Pillow cannot decode:\n  "
                             + "\n  ".join(broken))
    quirks = []
    if ignored:
        shown = ", ".join(str(p.relative_to(root)) for p in ignored[:10])
        quirks.append(f"ignored {len(ignored)} entries that are not {'/'.join(extensions)} "
                      f"files: {shown}"
                      + (" ..." if len(ignored) > 10 else ""))
    names = [p.stem for p in paths]
    folder = ImageFolder(root, paths, np.array(y, dtype=np.int64), names,
                         np.array([movie_from_name(n) for n in names], dtype=str), class_names)
    return folder, quirks


def scan_image_folder(
    root: str | Path,
    class_names: Sequence[str] = CLASS_NAMES,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
    allow_empty: bool = False,
    verify: bool = False,
) -> ImageFolder:
    """List the images of a ``<root>/<Emotion>/<name>.<ext>`` folder.

    Parameters
    ----------
    root : str or Path
    class_names : sequence of str
        Folder name of each class, in label order.
    extensions : sequence of str
        File suffixes taken as images (case-insensitive).
    allow_empty : bool
        Accept a class with no images (missing or empty folder) instead of raising.
    verify : bool
        Open every file with Pillow's ``verify()`` (cheap, no full decode) and raise
        on any that fails; otherwise a broken file is reported when it is decoded.

    Returns
    -------
    ImageFolder
        Files sorted by class, then by name.

    Warns
    -----
    DataQuirkWarning
        A name found in several class folders (the real SFEW folder has one, see
        :func:`~bpnet.data.sfew.load_sfew_features`): every file is kept with its folder's label.
        Also lists entries that were ignored (other suffixes, sub-folders).

    Raises
    ------
    ValueError
        Unknown folder names (listed), a class with no images unless
        ``allow_empty``, files Pillow cannot decode when ``verify``.
    """
    folder, quirks = _scan(root, class_names, extensions, allow_empty, verify)
    for name, found in folder.duplicate_names().items():
        quirks.append(f"duplicate name: {name!r} is in the folders {_and(found)}; "
                      "every file kept with its folder's label")
    if quirks:
        warnings.warn(format_quirks(str(folder.root), quirks), DataQuirkWarning, stacklevel=2)
    return folder


@dataclass
class CrossCheckReport:
    """How a feature table and an image folder of the same data disagree.

    Labels are compared per name as multisets, so a name held twice with two labels
    in both sources (the real SFEW case) counts as agreement.

    Attributes
    ----------
    only_in_features, only_in_images : list of str
        Names missing from the other source.
    label_mismatches : dict
        name -> (class names in the table, class names in the folder), where they differ.
    multi_label : dict
        name -> (class names in the table, in the folder) for names that carry more
        than one label in either source.
    """

    only_in_features: list[str]
    only_in_images: list[str]
    label_mismatches: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
    multi_label: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]

    @property
    def ok(self) -> bool:
        """True when both sources hold the same names with the same labels."""
        return not (self.only_in_features or self.only_in_images or self.label_mismatches)

    def lines(self) -> list[str]:
        """One report line per finding."""
        out = []
        for where, names in (("the feature table", self.only_in_features),
                             ("the image folder", self.only_in_images)):
            if names:
                out.append(f"{len(names)} name(s) only in {where}: {', '.join(names[:10])}"
                           + (" ..." if len(names) > 10 else ""))
        for name, (table, images) in self.label_mismatches.items():
            out.append(f"label mismatch: {name!r} is {'/'.join(table)} in the feature table but "
                       f"{'/'.join(images)} in the image folder; the feature table's label is kept")
        for name, (_, images) in self.multi_label.items():
            if name not in self.label_mismatches:
                out.append(f"label conflict confirmed by the image folder: {name!r} is in the folders "
                           f"{_and(images)}, matching its feature-table labels")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines()) or "feature table and image folder agree"


def cross_check(features: FeatureDataset, images: ImageFolder) -> CrossCheckReport:
    """Compare the names and labels of a feature table with those of an image folder.

    Parameters
    ----------
    features : FeatureDataset
    images : ImageFolder

    Returns
    -------
    CrossCheckReport
    """
    def labels_by_name(names, y, class_names):
        out = defaultdict(list)
        for name, label in zip(names, y):
            out[name].append(class_names[label])
        return {name: tuple(sorted(v)) for name, v in out.items()}

    table = labels_by_name(features.names, features.y, features.class_names)
    folder = labels_by_name(images.names, images.y, images.class_names)
    both = [n for n in table if n in folder]
    return CrossCheckReport(
        only_in_features=sorted(set(table) - set(folder)),
        only_in_images=sorted(set(folder) - set(table)),
        label_mismatches={n: (table[n], folder[n]) for n in both if table[n] != folder[n]},
        multi_label={n: (table[n], folder[n]) for n in both
                     if len(set(table[n])) > 1 or len(set(folder[n])) > 1},
    )

