"""bpnet.data.hog: its layout and normalisation, and agreement with OpenCV's HOGDescriptor."""
from __future__ import annotations

import numpy as np
import pytest

from bpnet.data.hog import hog, hog_length
from bpnet.data.synthetic import synthetic_faces


def test_hog_length_and_block_norm():
    image = np.random.default_rng(0).integers(0, 256, (64, 48)).astype(np.uint8)
    h = hog(image)
    assert h.shape == (hog_length(64, 48),) == ((8 - 1) * (6 - 1) * 36,)
    norms = np.linalg.norm(h.reshape(-1, 36), axis=1)
    assert h.min() >= 0
    # OpenCV's epsilon (1e-3 added to the norm) leaves busy blocks just under unit length
    assert np.all(norms <= 1.0) and np.all(norms > 0.998)


def test_hog_of_a_flat_image_is_zero_and_stripes_vote_one_orientation():
    assert not np.any(hog(np.full((32, 32), 90.0)))
    stripes = np.tile(np.sin(np.arange(32) / 2.0) * 100, (32, 1))  # intensity varies along x
    cells = hog(stripes).reshape(-1, 9)
    # gradient along columns: angle 0 (the bins centred at 10 and 170 degrees share it)
    assert np.all(cells[:, [0, 8]].sum(axis=1) > 0.99 * np.linalg.norm(cells, axis=1) - 1e-9)
    with pytest.raises(ValueError, match="smaller than one block"):
        hog(np.zeros((8, 8)))


def test_hog_layout_is_column_major_like_opencv():
    # a dot at row 3, column 19 of a 32 x 48 image (4 x 6 cells, 3 x 5 blocks): cell
    # (x 2, y 0), covered by blocks (x 1, y 0) and (x 2, y 0), numbered 1 * 3 + 0 = 3 and
    # 2 * 3 + 0 = 6 column by column (row by row they would be 1 and 2)
    image = np.zeros((32, 48))
    image[3, 19] = 255.0
    h = hog(image).reshape(-1, 4, 9)  # (blocks, cells, bins)
    assert h.shape[0] == 3 * 5
    assert np.flatnonzero(np.abs(h).sum(axis=(1, 2))).tolist() == [3, 6]
    # in block 3 the dot's cell is (cx 1, cy 0): third column by column (row by row second)
    assert int(np.argmax(np.abs(h[3]).sum(axis=1))) == 2
    assert int(np.argmax(np.abs(h[6]).sum(axis=1))) == 0


def test_votes_are_spread_between_neighbouring_cells():
    # a dot in the middle of a block votes into all four of its cells (spatial interpolation)
    image = np.zeros((16, 16))
    image[7:9, 7:9] = 255.0
    cells = hog(image).reshape(4, 9)
    assert np.all(cells.sum(axis=1) > 0)


def _opencv_pairs():
    cv2 = pytest.importorskip("cv2", reason="OpenCV is the reference; not installed")
    rng = np.random.default_rng(0)
    faces = synthetic_faces(n_per_class=2, size=64, seed=1).images
    random = rng.integers(0, 256, (4, 64, 64, 3)).astype(np.uint8)
    # a smooth random field: near-ties between colour channels, as in photographs
    smooth = np.clip(np.cumsum(np.cumsum(rng.normal(0, 4, (2, 64, 64, 3)), 1), 2) / 8 + 128,
                     0, 255).astype(np.uint8)
    # dark pixels: channels tie often, after the square root only to float32 rounding
    dark = rng.integers(0, 10, (2, 64, 64, 3)).astype(np.uint8)
    return cv2, np.concatenate([faces, random, smooth, dark])


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("gamma_sqrt", [False, True])
def test_hog_matches_opencv(color, gamma_sqrt):
    cv2, images = _opencv_pairs()
    ref = cv2.HOGDescriptor((64, 64), (16, 16), (8, 8), (8, 8), 9, 1, -1.0,
                            cv2.HOGDESCRIPTOR_L2HYS, 0.2, gamma_sqrt)
    for image in images:
        src = np.ascontiguousarray(image) if color else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        expected = ref.compute(src).ravel()
        got = hog(src, color=color, gamma_sqrt=gamma_sqrt)
        assert got.shape == expected.shape
        # OpenCV works in float32 with an approximate atan2 (about 0.3 degrees)
        assert np.abs(got - expected).max() < 2e-3
        assert np.corrcoef(got, expected)[0, 1] > 0.9999


def test_hog_matches_opencv_on_a_non_square_image():
    cv2, images = _opencv_pairs()
    image = cv2.cvtColor(images[0], cv2.COLOR_RGB2GRAY)[:48]
    ref = cv2.HOGDescriptor((64, 48), (16, 16), (8, 8), (8, 8), 9)
    assert np.abs(hog(image) - ref.compute(image).ravel()).max() < 2e-3
