"""Fault injection: bad files, bad numbers and bad models each get one clear error, never a
silent wrong result. docs/reliability.rst lists every case and what it gets.

Corrupt inputs are made on the fly in ``tmp_path``; nothing here needs the real data.
"""
import warnings

import numpy as np
import pytest
from PIL import Image

import bpnet
from bpnet.data.image_dataset import load_images
from bpnet.data.image_folder import scan_image_folder
from bpnet.data.imageio import read_image
from bpnet.data.sfew import CLASS_NAMES, load_sfew_features


# --- images ----------------------------------------------------------------------------
def test_a_16_bit_greyscale_png_is_scaled_not_clipped_to_white(tmp_path):
    ramp = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 0 .. 65520
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as image:
        assert image.mode.startswith("I;16")
    rgb = read_image(tmp_path / "g16.png")
    assert rgb.dtype == np.uint8 and rgb.shape == (64, 64, 3)
    np.testing.assert_allclose(rgb[..., 0], np.rint(ramp / 257.0), atol=1)
    assert (rgb == 255).mean() < 0.01  # Pillow's convert("RGB") makes 99.6 % of it white


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGBA", "LA", "CMYK", "I", "F", "RGB"])
def test_every_pillow_mode_decodes_to_uint8(tmp_path, mode):
    base = Image.fromarray((np.random.default_rng(0).random((20, 24, 3)) * 255).astype(np.uint8))
    image = base.convert(mode)
    path = tmp_path / f"x.{'tiff' if mode in ('I', 'F', 'CMYK') else 'png'}"
    image.save(path)
    rgb, grey = read_image(path), read_image(path, "L", size=16)
    assert rgb.shape == (20, 24, 3) and rgb.dtype == np.uint8
    assert grey.shape == (16, 16) and grey.dtype == np.uint8
    assert 0 < rgb.mean() < 255  # neither black nor white throughout


def test_the_pixel_budget_refuses_a_huge_image_and_a_jpeg_decodes_reduced(tmp_path):
    big = np.random.default_rng(1).integers(0, 255, (800, 1000, 3), dtype=np.uint8)
    Image.fromarray(big).save(tmp_path / "big.png")
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=90)
    with pytest.raises(ValueError, match=r"big\.png: 1000x800 pixels is over the budget"):
        read_image(tmp_path / "big.png", max_pixels=100_000)
    with pytest.raises(ValueError, match="give a size to decode it reduced"):
        read_image(tmp_path / "big.jpg", max_pixels=100_000)
    small = read_image(tmp_path / "big.jpg", size=64, max_pixels=100_000)  # 1/8 scale draft
    assert small.shape == (64, 64, 3)


def test_a_decompression_bomb_names_the_file(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow refuses > 2x this at open
    with pytest.raises(ValueError, match=r"cannot use image .*bomb\.png"):
        read_image(tmp_path / "bomb.png")


def test_truncated_tiny_and_non_image_files_name_the_file(tmp_path):
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "ok.jpg")
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    (tmp_path / "text.jpg").write_text("not an image")
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / "dot.png")
    for name, match in (("cut.jpg", r"cannot decode image .*cut\.jpg"),
                        ("text.jpg", r"cannot decode image .*text\.jpg"),
                        ("dot.png", r"dot\.png: 1x1 pixels is too small")):
        with pytest.raises(ValueError, match=match):
            read_image(tmp_path / name)


def test_hidden_files_in_class_folders_are_not_images(tmp_path):
    for cls in CLASS_NAMES:
        (tmp_path / cls).mkdir()
        Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(tmp_path / cls / f"{cls}_1_1.png")
    (tmp_path / "Happy" / "._Happy_1_1.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (tmp_path / ".DS_Store").write_bytes(b"\x00")
    folder = scan_image_folder(tmp_path)
    assert len(folder) == 7
    assert load_images(folder, size=8).shape == (7, 8, 8, 3)


# --- feature tables --------------------------------------------------------------------
def _sheet(tmp_path, text, name="s.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def _rows(n=7):
    head = "name,label," + ",".join(f"lpq_pc{i}" for i in range(1, 6)) + "," + \
        ",".join(f"phog_pc{i}" for i in range(1, 6))
    rows = [f"Movie_{i}_{i},{i % 7 + 1}," + ",".join(f"{0.001 * (i + j):.4f}" for j in range(10))
            for i in range(n)]
    return "\n".join([head, *rows]) + "\n"


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "utf-8-sig"])
def test_csv_encodings_are_read(tmp_path, encoding):
    text = _rows().replace("Movie_1_1", "Amélie_1_1")
    data = load_sfew_features(_sheet(tmp_path, text, encoding=encoding))
    assert data.names[1] == "Amélie_1_1" and data.X.shape == (7, 10)


def test_a_semicolon_csv_with_decimal_commas_is_read(tmp_path):
    text = _rows().replace(",", ";").replace(".", ",")
    semi = load_sfew_features(_sheet(tmp_path, text, "semi.csv"))
    plain = load_sfew_features(_sheet(tmp_path, _rows(), "plain.csv"))
    np.testing.assert_array_equal(semi.X, plain.X)


@pytest.mark.parametrize("content,match", [
    (b"", "not a readable Excel workbook \\(it is empty\\)"),
    (bytes(range(256)) * 4, "not a readable Excel workbook \\(BadZipFile"),
])
def test_broken_workbooks_are_refused(tmp_path, content, match):
    (tmp_path / "bad.xlsx").write_bytes(content)
    with pytest.raises(ValueError, match=match):
        load_sfew_features(tmp_path / "bad.xlsx")


def test_a_folder_given_as_a_sheet_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a feature table"):
        load_sfew_features(tmp_path)


# --- numbers ---------------------------------------------------------------------------
def test_an_absurd_value_is_named_not_reported_as_nan(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), np.arange(60) % 3
    X[5, 2] = 1e308
    splits = bpnet.splits.stratified_kfold(y, 3, seed=0)
    with pytest.raises(ValueError, match=r"X\[5, 2\] = 1e\+308 is out of range"):
        bpnet.cross_validate(X, y, splits, epochs=2)  # float32 by default
    with pytest.raises(ValueError, match=r"X\[5, 2\] = 1e\+308 is out of range"):
        bpnet.cross_validate(X, y, splits, epochs=2, dtype="float64")
    with pytest.raises(ValueError, match="beyond the range of float32"):
        bpnet.BPClassifier(epochs=2, dtype="float32").fit(rng.normal(size=(60, 4)) * 1e300, y)


def test_a_users_diverging_loop_stops_with_one_clear_error():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 4)) * 1e6, rng.integers(0, 3, 50)
    net = bpnet.BPNetwork(4, 8, 3, hidden="relu", output="identity")
    opt = bpnet.SGD(net.params, lr=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and not a single NumPy warning on the way
        with pytest.raises(bpnet.TrainingError, match="training diverged; lower the learning"):
            for _ in range(100):
                opt.step(net.loss_and_grads(X, y)[1])
    assert all(np.all(np.isfinite(p)) for p in net.params.values())  # weights not poisoned


def test_a_network_too_big_for_memory_is_refused_before_allocating():
    with pytest.raises(MemoryError, match="needs about .* GiB of memory"):
        bpnet.BPNetwork(10, 10**10, 7)


# --- model files -----------------------------------------------------------------------
def _saved(tmp_path):
    rng = np.random.default_rng(0)
    clf = bpnet.BPClassifier(4, epochs=3).fit(rng.normal(size=(30, 3)), np.arange(30) % 3)
    return clf.save(tmp_path / "model.npz")


def _rewrite(path, change):
    """Load the archive's entries, let ``change`` edit them, write them back."""
    import json

    with np.load(path, allow_pickle=False) as data:
        entries = {k: data[k] for k in data.files}
    meta = json.loads(str(entries["__bpnet__"]))
    change(meta, entries)
    entries["__bpnet__"] = np.array(json.dumps(meta))
    with open(path, "wb") as handle:
        np.savez(handle, **entries)


@pytest.mark.parametrize("change,match", [
    (lambda m, a: a.__setitem__("classes_", np.arange(5)), "classes"),
    (lambda m, a: a["W1"].fill(np.nan), "NaN or inf"),
    (lambda m, a: a.__setitem__("W1", a["W1"].astype(complex)), "not real numbers"),
    (lambda m, a: a.__setitem__("W1", a["W1"].astype(str)), "not real numbers"),
    (lambda m, a: a.__setitem__("unit_mask", np.ones(7)), "unit_mask"),
    (lambda m, a: m.__setitem__("version", "2.0"), "format version '2.0'"),
    (lambda m, a: m.__setitem__("version", None), "format version None"),
])
def test_inconsistent_model_files_are_refused(tmp_path, change, match):
    path = _saved(tmp_path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=match):
        bpnet.load(path)


def test_a_truncated_model_file_is_refused_and_closed(tmp_path):
    path = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ResourceWarning here would be a leaked handle
        with pytest.raises(ValueError, match="not a readable bpnet model file"):
            bpnet.load(path)
        import gc

        gc.collect()
