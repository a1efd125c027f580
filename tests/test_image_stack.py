"""The one image stack: bpnet.data.image_dataset's loader and dataset type, and the tensor view
resnet_fer.data puts on it (the decoding itself is pinned by test_resnet_data, test_datasets)."""
from __future__ import annotations

import numpy as np
import pytest

from bpnet.data.image_dataset import ImageDataset, load_image_folder
from bpnet.data.image_folder import scan_image_folder
from bpnet.data.synthetic import synthetic_faces, write_image_folder


@pytest.fixture()
def folder(tmp_path):
    return write_image_folder(synthetic_faces(n_per_class=2, size=24, seed=3), tmp_path / "images")


def test_a_folder_and_its_scan_load_the_same_pixels(folder, tmp_path):
    by_path = load_image_folder(folder, (12, 20), cache_dir=tmp_path / "cache")
    by_scan = load_image_folder(scan_image_folder(folder), (12, 20), cache_dir=False)
    assert isinstance(by_path, ImageDataset) and by_path.images.shape == (14, 12, 20, 3)
    assert np.array_equal(by_path.images, by_scan.images) and by_path.cache_path.name.endswith(
        ".npz") and "12x20px" in by_path.cache_path.name
    again = load_image_folder(folder, (12, 20), cache_dir=tmp_path / "cache")
    assert again.from_cache and np.array_equal(again.images, by_path.images)


def test_grey_sets_are_cached_apart_from_colour_ones(folder, tmp_path):
    rgb = load_image_folder(folder, 10, cache_dir=tmp_path)
    gray = load_image_folder(folder, 10, grayscale=True, cache_dir=tmp_path)
    assert gray.images.shape == (14, 10, 10) and gray.cache_path != rgb.cache_path


def test_face_crops_need_a_square_colour_image(folder):
    with pytest.raises(ValueError, match="square RGB"):
        load_image_folder(folder, 10, grayscale=True, face_crop="haar", cache_dir=False)


def test_subset_keeps_what_the_decoding_found():
    data = ImageDataset(np.zeros((4, 2, 2, 3), np.uint8), [0, 1, 2, 3], list("abcd"),
                        list("wxyz"), source="here", face_found=np.array([1, 0, 1, 0], bool))
    part = data.subset(np.array([False, True, True, False]))
    assert part.names == ["x", "y"] and part.face_found.tolist() == [False, True]
    assert part.eyes_found is None and part.source == "here"


def test_the_resnet_side_only_wraps_the_same_pixels_as_a_tensor(folder):
    torch = pytest.importorskip("torch")
    from resnet_fer.data import FaceImages, as_tensors

    data = load_image_folder(folder, 8, cache_dir=False)
    faces = as_tensors(data)
    assert isinstance(faces, FaceImages) and isinstance(faces, ImageDataset)
    assert faces.images.dtype == torch.uint8 and faces.images.numpy() is not None
    assert np.shares_memory(faces.images.numpy(), data.images)  # a view, not a copy
    assert faces.sample_ids == data.sample_ids and len(faces.subset([0, 2])) == 2
    with pytest.raises(ValueError, match="uint8"):
        ImageDataset(faces.images, data.y, data.groups, data.names)  # the array type holds arrays
