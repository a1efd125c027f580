"""FaceAligner (bpnet.data.facecrop): the eye-aligned crop geometry, the pair choice, the
fallbacks, the cache key."""
import math

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
torch = pytest.importorskip("torch")

from bpnet.data.facecrop import (  # noqa: E402
    BOX_EYES,
    EYES,
    FACE_BOX,
    NO_FACE,
    FaceAligner,
    FaceDetection,
    similarity,
)
from bpnet.data.synthetic import synthetic_faces, write_image_folder  # noqa: E402
from resnet_fer.data import load_image_folder, make_cropper  # noqa: E402


def _eye_image(left, right, shape=(200, 260), radius=6):
    """A light-grey frame with two dark eye blobs at the given (x, y) centres."""
    image = np.full(shape + (3,), 200, np.uint8)
    for x, y in (left, right):
        cv2.circle(image, (round(x), round(y)), radius, (20, 20, 20), -1)
    return image


def _blobs(crop):
    """Centroids (x, y) of the dark pixels left and right of the middle, in crop pixels."""
    dark = crop[..., 0] < 100
    ys, xs = np.nonzero(dark)
    mid = crop.shape[1] / 2
    return [(xs[m].mean(), ys[m].mean()) for m in (xs < mid, xs >= mid)]


@pytest.mark.parametrize("angle", [-20.0, 0.0, 12.5, 25.0])
def test_tilted_eyes_come_out_level_at_the_canonical_distance(angle):
    centre, half = np.array([130.0, 90.0]), 30.0
    d = half * np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
    left, right = centre - d, centre + d
    aligner = FaceAligner(eye_distance=0.4, eye_y=0.4)
    crop = aligner.warp(_eye_image(left, right), FaceDetection((70, 40, 120, 120), (left, right)), 96)
    (lx, ly), (rx, ry) = _blobs(crop)
    assert abs(ly - ry) < 1.0  # level
    assert rx - lx == pytest.approx(0.4 * 96, abs=1.0)  # fixed inter-ocular distance
    assert (lx + rx) / 2 == pytest.approx(48, abs=1.0) and ly == pytest.approx(0.4 * 96, abs=1.0)


def test_similarity_maps_the_eyes_exactly():
    m = similarity((10.0, 20.0), (50.0, 35.0), size=64, eye_distance=0.3, eye_y=0.35)
    for src, dst in (((10, 20), (32 - 0.15 * 64, 0.35 * 64)), ((50, 35), (32 + 0.15 * 64, 0.35 * 64))):
        np.testing.assert_allclose(m @ np.array([*src, 1.0]), dst, atol=1e-9)
    with pytest.raises(ValueError, match="coincide"):
        similarity((1.0, 1.0), (1.0, 1.0), 64, 0.3, 0.4)


def test_a_face_box_without_eyes_uses_the_average_eye_positions():
    box = (60, 30, 100, 100)
    (fx0, fy0), (fx1, fy1) = BOX_EYES
    left, right = (60 + fx0 * 100, 30 + fy0 * 100), (60 + fx1 * 100, 30 + fy1 * 100)
    aligner = FaceAligner()
    crop = aligner.warp(_eye_image(left, right, radius=4), FaceDetection(box, None), 80)
    (lx, ly), (rx, ry) = _blobs(crop)
    assert rx - lx == pytest.approx(aligner.eye_distance * 80, abs=1.0)
    assert ly == pytest.approx(aligner.eye_y * 80, abs=1.0)
    assert FaceDetection(box, None).status == FACE_BOX
    assert FaceDetection(box, (left, right)).status == EYES


def test_no_face_gives_the_centre_square():
    image = np.zeros((60, 100, 3), np.uint8)
    image[:, 20:80] = 255  # the centre square is white, the sides black
    crop = FaceAligner().warp(image, FaceDetection(None, None), 30)
    assert crop.shape == (30, 30, 3) and crop.min() == 255
    assert FaceDetection(None, None).status == NO_FACE


def test_the_plausible_pair_of_eye_candidates_wins():
    aligner = FaceAligner(max_angle=30)
    fw = 100.0
    left, right = (30.0, 40.0, 15.0), (70.0, 42.0, 14.0)
    nostril, too_close, steep = (50.0, 80.0, 6.0), (50.0, 40.0, 15.0), (75.0, 80.0, 15.0)
    pair = aligner._best_pair([nostril, left, steep, right, too_close], fw)
    assert pair == ((30.0, 40.0), (70.0, 42.0))
    assert aligner._best_pair([left, steep], fw) is None  # 45 degrees: not a pair of eyes
    assert aligner._best_pair([left], fw) is None


def test_settings_are_checked_and_change_the_cache_key(tmp_path):
    with pytest.raises(ValueError, match="eye_distance"):
        FaceAligner(eye_distance=0.9)
    with pytest.raises(ValueError, match="face_crop"):
        make_cropper("sideways")
    folder = write_image_folder(synthetic_faces(n_per_class=1, size=32, seed=2), tmp_path / "img")
    a = load_image_folder(folder, size=16, face_crop="align", cache_dir=tmp_path, workers=1)
    b = load_image_folder(folder, size=16, face_crop="align", cache_dir=tmp_path, workers=1,
                          cropper=FaceAligner(eye_distance=0.3))
    c = load_image_folder(folder, size=16, face_crop="haar", cache_dir=tmp_path, workers=1)
    assert len({a.cache_path, b.cache_path, c.cache_path}) == 3
    assert a.eyes_found.shape == (7,) and c.eyes_found is None and c.face_found.shape == (7,)
    again = load_image_folder(folder, size=16, face_crop="align", cache_dir=tmp_path, workers=1)
    assert again.from_cache and np.array_equal(again.eyes_found, a.eyes_found)
    assert "aligned on both eyes" in a.describe()


@pytest.mark.sfew
def test_real_frames_get_faces_and_level_eyes(sfew_dir):
    from PIL import Image

    aligner = FaceAligner()
    paths = sorted((sfew_dir / "images" / "Happy").glob("*.jpg"))[:8]
    found = []
    for path in paths:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        det = aligner.detect(rgb)
        found.append(det.status)
        if det.eyes is not None:
            (lx, ly), (rx, ry) = det.eyes
            m = similarity(det.eyes[0], det.eyes[1], 64, aligner.eye_distance, aligner.eye_y)
            (ax, ay), (bx, by) = (m @ np.array([lx, ly, 1.0]), m @ np.array([rx, ry, 1.0]))
            assert abs(ay - by) < 1e-6 and bx - ax == pytest.approx(aligner.eye_distance * 64)
    assert sum(s > NO_FACE for s in found) >= 5 and EYES in found
