"""bpnet.data.synthetic: the built-in procedural face data set."""
from __future__ import annotations

import numpy as np
import pytest

from bpnet.data.image_dataset import load_images
from bpnet.data.image_folder import scan_image_folder
from bpnet.data.sfew import CLASS_NAMES
from bpnet.data.synthetic import ImageDataset, sample_sheet, synthetic_faces, write_image_folder


@pytest.fixture(scope="module")
def small() -> ImageDataset:
    return synthetic_faces(n_per_class=6, size=32, seed=3)


def test_shapes_dtypes_and_labels(small):
    n = 7 * 6
    assert small.images.shape == (n, 32, 32, 3) and small.images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(small.y), [6] * 7)
    assert small.class_names == CLASS_NAMES and len(small) == n
    assert len(set(small.names)) == n and small.groups.shape == (n,)
    assert all(name.rsplit("_", 2)[0] == g for name, g in zip(small.names, small.groups))
    assert small.images.min() < 40 and small.images.max() > 200  # uses the dynamic range
    gray = synthetic_faces(n_per_class=2, size=24, seed=0, rgb=False)
    assert gray.images.shape == (14, 24, 24) and gray.images.dtype == np.uint8


def test_same_seed_same_bytes_other_seed_differs(small):
    again = synthetic_faces(n_per_class=6, size=32, seed=3)
    assert again.images.tobytes() == small.images.tobytes()
    assert again.names == small.names and (again.groups == small.groups).all()
    other = synthetic_faces(n_per_class=6, size=32, seed=4)
    assert np.mean(other.images != small.images) > 0.5


def test_identities_show_several_expressions():
    data = synthetic_faces(n_per_class=10, size=24, seed=0, n_identities=5)
    assert len(np.unique(data.groups)) == 5
    for group in np.unique(data.groups):  # n_per_class >= n_identities: every person, every class
        assert set(data.y[data.groups == group]) == set(range(7))
    default = synthetic_faces(n_per_class=4, size=24, seed=0)
    assert len(np.unique(default.groups)) == 4
    assert min(len(set(default.y[default.groups == g])) for g in np.unique(default.groups)) >= 2


def test_one_per_class():
    data = synthetic_faces(n_per_class=1, size=32, seed=0)
    assert data.images.shape == (7, 32, 32, 3)
    assert list(data.y) == list(range(7)) and len(set(data.groups)) == 1
    with pytest.raises(ValueError):
        synthetic_faces(n_per_class=0)


def test_image_folder_round_trip(small, tmp_path):
    root = write_image_folder(small, tmp_path / "faces")
    assert sorted(p.name for p in root.iterdir()) == sorted(CLASS_NAMES)
    folder = scan_image_folder(root, verify=True)
    assert folder.names == small.names  # class-major, sorted by name: the generator's order
    np.testing.assert_array_equal(folder.y, small.y)
    np.testing.assert_array_equal(folder.groups, small.groups)
    np.testing.assert_array_equal(load_images(folder, size=32), small.images)  # PNG is lossless


def test_sample_sheet_writes_png(small, tmp_path):
    path = sample_sheet(small, tmp_path / "sheet.png", per_class=3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hard_but_learnable():
    """Logistic regression on pixels, person-independent split: far above chance
    (14.3 %), far from perfect. Measured: 50 % of 84 test faces (seed 0)."""
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupShuffleSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = synthetic_faces(n_per_class=40, size=32, seed=0, rgb=False)
    X = data.images.reshape(len(data), -1) / 255.0
    X = (X - X.mean(1, keepdims=True)) / X.std(1, keepdims=True)
    split = GroupShuffleSplit(1, test_size=0.3, random_state=0)
    train, test = next(split.split(X, data.y, data.groups))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=2000))
    accuracy = model.fit(X[train], data.y[train]).score(X[test], data.y[test])
    assert 0.35 < accuracy < 0.85
