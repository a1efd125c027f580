"""Fault injection, ResNet side: each fault gets one clear error or a warning, never a silent
wrong result, a traceback or a lost run. docs/reliability.rst lists every case.

Tiny synthetic image folders (24 px), width-8 networks and one epoch on the CPU keep it fast.
"""
import errno
import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from bpnet.data.sfew import CLASS_NAMES  # noqa: E402
from resnet_fer.data import load_image_folder  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _image_folder(root, n_per_class=1, side=24):
    """``root/<Class>/<Class>_<i>_1.png``, random RGB pixels, stored uncompressed.

    Uncompressed, a file's size depends only on its dimensions: another image of the same
    side rewrites it with the same number of bytes.
    """
    rng = np.random.default_rng(0)
    for cls in CLASS_NAMES:
        (root / cls).mkdir(parents=True)
        for i in range(n_per_class):
            pixels = rng.integers(0, 180, (side, side, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{cls}_{i}_1.png", compress_level=0)
    return root


def _png_header(path, width, height):
    """A PNG that declares ``width`` x ``height`` pixels and holds none (Pillow reads the size)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))


# --- images ----------------------------------------------------------------------------
def test_a_16_bit_png_is_scaled_not_white_in_the_resnet_branch(tmp_path):
    root = _image_folder(tmp_path / "images")
    ramp = (np.arange(24 * 24).reshape(24, 24) * 113).astype(np.uint16)  # 0 .. 64975
    Image.fromarray(ramp).save(root / "Happy" / "deep_0_1.png")
    with Image.open(root / "Happy" / "deep_0_1.png") as image:
        assert image.mode.startswith("I;16")
    data = load_image_folder(root, size=24, cache_dir=False)
    pixels = data.images[data.names.index("deep_0_1")].numpy()
    np.testing.assert_allclose(pixels[..., 0], np.rint(ramp / 257.0), atol=1)
    assert (pixels == 255).mean() < 0.01  # Pillow's convert("RGB") made 99 % of it white


def test_an_image_over_the_pixel_budget_is_refused_naming_it(tmp_path):
    root = _image_folder(tmp_path / "images")
    _png_header(root / "Sad" / "huge_0_1.png", 10_000, 6_000)  # 60 megapixels, never decoded
    with pytest.raises(ValueError, match=r"huge_0_1\.png: 10000x6000 pixels is over the budget"):
        load_image_folder(root, size=16, cache_dir=False)
    with pytest.warns(UserWarning, match=r"huge_0_1\.png"):
        data = load_image_folder(root, size=16, cache_dir=False, skip_bad=True)
    assert len(data) == 7 and "huge_0_1" not in data.names


def test_an_image_rewritten_with_the_same_size_and_time_is_decoded_again(tmp_path):
    root = _image_folder(tmp_path / "images")
    first = load_image_folder(root, size=16, cache_dir=tmp_path / "cache")
    victim = root / "Happy" / "Happy_0_1.png"
    before = victim.stat()
    Image.fromarray(np.full((24, 24, 3), 222, np.uint8)).save(victim, compress_level=0)
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))  # e.g. a copy keeping times
    after = victim.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    second = load_image_folder(root, size=16, cache_dir=tmp_path / "cache")
    assert not second.from_cache and second.cache_path != first.cache_path
    i = second.names.index("Happy_0_1")
    assert (second.images[i] == 222).all() and not (first.images[i] == 222).all()
    assert load_image_folder(root, size=16, cache_dir=tmp_path / "cache").from_cache


def test_a_full_cache_disk_warns_and_goes_on_without_the_cache(tmp_path, monkeypatch):
    root = _image_folder(tmp_path / "images")
    expected = load_image_folder(root, size=16, cache_dir=False)

    def full_disk(handle, **arrays):
        handle.write(b"the first bytes of the archive")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.warns(RuntimeWarning, match="cannot write the image cache .*no space left on the "
                      "device.*continuing without it"):
        data = load_image_folder(root, size=16, cache_dir=tmp_path / "cache")
    assert data.cache_path is None and not data.from_cache
    assert torch.equal(data.images, expected.images)
    assert list((tmp_path / "cache").iterdir()) == []  # no temporary file left behind
