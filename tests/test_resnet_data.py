"""The image stack from the ResNet side: bpnet.data decodes once, caches, skips bad files, crops
faces (bpnet.data.facecrop); resnet_fer.data turns the set into tensors and stores it."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bpnet.data import image_dataset  # noqa: E402
from bpnet.data.facecrop import FaceCropper, center_box, make_cropper, square_box  # noqa: E402
from bpnet.data.synthetic import synthetic_faces, write_image_folder  # noqa: E402
from resnet_fer import data as D  # noqa: E402
from resnet_fer.data import ImageStore, load_image_folder, synthetic_images  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture()
def folder(tmp_path):
    return write_image_folder(synthetic_faces(n_per_class=2, size=32, seed=1), tmp_path / "images")


def test_decodes_the_folder_into_one_uint8_tensor(folder, tmp_path):
    data = load_image_folder(folder, size=16, cache_dir=tmp_path / "cache")
    assert data.images.shape == (14, 16, 16, 3) and data.images.dtype == torch.uint8
    assert np.array_equal(np.bincount(data.y), [2] * 7)
    assert len(data.names) == len(data.groups) == 14 and not data.from_cache
    assert data.face_found is None and data.detection_rate is None


def test_cache_is_built_once_and_reused_without_decoding(folder, tmp_path, monkeypatch):
    first = load_image_folder(folder, size=16, cache_dir=tmp_path)
    assert first.cache_path.is_file()

    def no_decoding(*args):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(image_dataset, "_decode", no_decoding)
    second = load_image_folder(folder, size=16, cache_dir=tmp_path)
    assert second.from_cache and torch.equal(first.images, second.images)
    assert np.array_equal(first.y, second.y) and first.names == second.names
    assert list(first.groups) == list(second.groups)


def test_cache_key_follows_settings_and_file_sizes(folder, tmp_path):
    a = load_image_folder(folder, size=16, cache_dir=tmp_path)
    b = load_image_folder(folder, size=12, cache_dir=tmp_path)
    assert a.cache_path != b.cache_path
    victim = sorted(folder.glob("Happy/*.png"))[0]
    victim.write_bytes(victim.read_bytes() + b"\0")  # a changed file (size) -> a new key
    c = load_image_folder(folder, size=16, cache_dir=tmp_path)
    assert c.cache_path != a.cache_path and not c.from_cache


def test_corrupt_cache_is_rebuilt(folder, tmp_path):
    first = load_image_folder(folder, size=16, cache_dir=tmp_path)
    first.cache_path.write_bytes(b"not a zip file")
    with pytest.warns(RuntimeWarning, match="rebuilding"):
        again = load_image_folder(folder, size=16, cache_dir=tmp_path)
    assert not again.from_cache and torch.equal(first.images, again.images)
    assert load_image_folder(folder, size=16, cache_dir=tmp_path).from_cache


def test_bad_image_raises_naming_the_file(folder, tmp_path):
    bad = folder / "Angry" / "broken_000_001.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="broken_000_001.png"):
        load_image_folder(folder, size=16, cache_dir=False)


def test_bad_image_is_skipped_with_a_warning_when_asked(folder, tmp_path):
    (folder / "Angry" / "broken_000_001.jpg").write_bytes(b"nope")
    with pytest.warns(UserWarning, match="broken_000_001.jpg"):
        data = load_image_folder(folder, size=16, skip_bad=True, cache_dir=tmp_path)
    assert len(data) == 14 and "broken_000_001" not in data.names
    assert len(data.skipped) == 1 and "1 unreadable" in data.describe()
    cached = load_image_folder(folder, size=16, skip_bad=True, cache_dir=tmp_path)
    assert cached.from_cache and cached.skipped == data.skipped


def test_face_crop_reports_the_detection_rate(folder, tmp_path):
    pytest.importorskip("cv2")
    data = load_image_folder(folder, size=16, face_crop=True, cache_dir=tmp_path, workers=1)
    assert data.images.shape == (14, 16, 16, 3)
    assert data.face_found.shape == (14,) and 0.0 <= data.detection_rate <= 1.0
    assert "face found in" in data.describe()
    plain = load_image_folder(folder, size=16, cache_dir=tmp_path)
    assert plain.cache_path != data.cache_path


def test_face_boxes_are_squares_inside_the_image():
    assert center_box(288, 360) == (0, 36, 288)
    top, left, side = square_box((340, 10, 40, 40), 288, 360, margin=0.25)
    assert side == 60 and left + side <= 360 and top >= 0
    assert square_box((0, 0, 500, 500), 288, 360, margin=0.2)[2] == 288


def test_synthetic_images_are_the_builtin_faces():
    data = synthetic_images(n_per_class=2, size=16)
    assert data.images.shape == (14, 16, 16, 3) and "synthetic" in data.source


@pytest.mark.parametrize("device", ["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
def test_streaming_store_gives_the_same_batches_as_the_resident_store(device):
    images = torch.randint(0, 256, (20, 8, 8, 3), dtype=torch.uint8)
    labels = np.arange(20) % 7
    resident = ImageStore(images, labels, device)
    streaming = ImageStore(images, labels, device, memory_budget=0)
    assert resident.resident and not streaming.resident
    assert streaming.images.device.type == "cpu" and streaming.index_device.type == "cpu"
    idx = torch.tensor([5, 0, 19, 5, 7])
    for a, b in zip(resident.gather(idx.to(resident.index_device)), streaming.gather(idx)):
        assert a.device == b.device and torch.equal(a, b)
    assert torch.equal(streaming.gather(idx)[0].cpu(), images[idx])


def test_store_rejects_non_uint8():
    with pytest.raises(ValueError, match="uint8"):
        ImageStore(torch.zeros(2, 4, 4, 3), [0, 1], "cpu")


@pytest.mark.sfew
def test_real_sfew_folder_is_listed(sfew_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the known duplicate-name quirk
        folder = image_dataset.scan_image_folder(sfew_dir / "images")
    assert len(folder) == 675


@pytest.mark.sfew
def test_a_real_sfew_frame_decodes_with_and_without_face_crop(sfew_dir):
    pytest.importorskip("cv2")
    path = sorted((sfew_dir / "images" / "Happy").glob("*.jpg"))[0]
    whole, _ = image_dataset._decode(path, 48, "RGB", None)
    face, found = image_dataset._decode(path, 48, "RGB", FaceCropper())
    aligned, status = image_dataset._decode(path, 48, "RGB", make_cropper("align"))
    assert whole.shape == face.shape == aligned.shape == (48, 48, 3) and whole.dtype == np.uint8
    assert found in (0, 1) and status in (0, 1, 2)


def test_tone_greys_and_equalises():
    pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(100, 140, (3, 12, 12, 3), dtype=np.uint8))
    assert D.tone(images) is images
    gray = D.tone(images, gray=True)
    assert torch.equal(gray[..., 0], gray[..., 1]) and torch.equal(gray[..., 1], gray[..., 2])
    flat = D.tone(images, gray=True, equalize=True)
    assert flat.max() > 240 and flat.min() < 15  # a narrow range spread over 0..255
    colour = D.tone(images, equalize=True)
    assert colour.shape == images.shape and int(colour.max()) - int(colour.min()) > 150
