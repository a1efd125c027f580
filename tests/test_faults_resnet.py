"""Fault injection, ResNet side: each fault gets one clear error or a warning, never a silent
wrong result, a traceback or a lost run. docs/reliability.rst lists every case.

Tiny synthetic image folders (24 px), width-8 networks and one epoch on the CPU keep it fast.
"""
import errno
import io
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from bpnet.data.sfew import CLASS_NAMES  # noqa: E402
from resnet_fer.checkpoint import (  # noqa: E402
    CheckpointWriteError,
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
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


# --- checkpoints -----------------------------------------------------------------------
class _FullAfter(io.RawIOBase):
    """A file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, handle, room):
        self.handle, self.room = handle, room

    def writable(self):
        return True

    def write(self, data):
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.handle.write(data)


@pytest.fixture()
def full_disk(monkeypatch):
    """torch.save runs for real into a disk that fills up after 200 bytes."""
    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, f, **kw: real_save(obj, _FullAfter(f, 200), **kw))


def test_a_checkpoint_that_cannot_be_written_says_why_and_leaves_no_temporary_file(tmp_path,
                                                                                   full_disk):
    with pytest.raises(CheckpointWriteError,
                       match=r"cannot write checkpoint .*fold0\.pt: no space left on the device"):
        save_checkpoint({"w": torch.ones(1000)}, tmp_path / "fold0.pt")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_checkpoint({"w": torch.ones(3)}, tmp_path / "fold0.pt")

    def broken(obj, f, **kw):  # what torch raises for a file error it cannot name
        f.write(b"half a checkpoint")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(CheckpointWriteError, match="fold0.pt: .*unexpected pos 64 vs 0"):
        save_checkpoint({"w": torch.zeros(3)}, tmp_path / "fold0.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["fold0.pt"]
    assert torch.equal(load_checkpoint(tmp_path / "fold0.pt")["w"], torch.ones(3))


@pytest.fixture()
def dead_pid():
    """The id of a process that has exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_stale_temporary_checkpoints_of_a_killed_process_are_removed(tmp_path, dead_pid):
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / f".fold0.pt.{dead_pid}.tmp").write_bytes(b"killed mid-write")
        (tmp_path / f".fold1.pt.{alive.pid}.tmp").write_bytes(b"still being written")
        (tmp_path / "fold0.pt").write_bytes(b"kept")
        (tmp_path / f".notes.{dead_pid}.tmp").write_bytes(b"a user's file, not a checkpoint")
        removed = remove_stale_temporaries(tmp_path)
        assert [p.name for p in removed] == [f".fold0.pt.{dead_pid}.tmp"]
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            f".fold1.pt.{alive.pid}.tmp", f".notes.{dead_pid}.tmp", "fold0.pt"]
    finally:
        alive.kill()
        alive.wait()


def test_cross_validate_starts_by_removing_a_killed_runs_temporary_checkpoint(tmp_path, dead_pid):
    from bpnet.splits import stratified_kfold
    from resnet_fer.data import synthetic_images
    from resnet_fer.train import TrainConfig, cross_validate

    data = synthetic_images(n_per_class=2, size=16, seed=0)
    stale = tmp_path / "checkpoints" / f".fold0.pt.{dead_pid}.tmp"
    stale.parent.mkdir()
    stale.write_bytes(b"killed mid-write")
    config = TrainConfig(epochs=1, batch_size=8, size=16, width=8, stem="small")
    cross_validate(data.images, data.y, stratified_kfold(data.y, 2, seed=0)[:1], config, "cpu",
                   progress=False, out_dir=tmp_path)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["fold0.pt"]


# --- resnet-fer train: the output folder -------------------------------------------------
TRAIN = ["train", "--device", "cpu", "--epochs", "1", "--size", "16", "--width", "8", "--stem",
         "small", "--synthetic-per-class", "3", "--folds", "2", "--batch-size", "8",
         "--no-progress"]


def _train(out, *extra):
    from resnet_fer import cli

    return cli.main([*TRAIN, "--out", str(out), *extra])


def _one_error_line(capsys, tool="resnet-fer"):
    """The run's stderr, which must be one line ``<tool>: error: ...`` and no traceback."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{tool}: error: "), err
    return lines[0]


@pytest.fixture()
def no_work(monkeypatch):
    """Decoding or training from here on fails the test: errors must come before any work."""
    from resnet_fer import cli, train

    def forbidden(*args, **kwargs):
        raise AssertionError("work started despite the error")

    monkeypatch.setattr(cli, "_load", forbidden)
    monkeypatch.setattr(train, "cross_validate", forbidden)


def _marker(out):
    import json

    return json.loads((out / ".run.json").read_text())


def test_a_second_run_into_the_same_out_is_refused_in_one_line(tmp_path, capsys, no_work):
    out = tmp_path / "run"
    holder = ("import sys, time; from bpnet.outdir import RunDir\n"
              "with RunDir(sys.argv[1], 'resnet-fer train'):\n"
              "    print('locked', flush=True); time.sleep(60)")
    other = subprocess.Popen([sys.executable, "-c", holder, str(out)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert other.stdout.readline().strip() == "locked"  # a run in progress
        assert _train(out) == 2
    finally:
        other.kill()
        other.wait()
        other.stdout.close()
    assert f"another run (process {other.pid}) is writing to" in _one_error_line(capsys)


def test_a_finished_out_needs_resume_or_force(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out) == 0
    assert _marker(out)["status"] == "finished"
    first = load_checkpoint(out / "checkpoints" / "fold0.pt")["model"]
    capsys.readouterr()
    assert _train(out) == 2
    line = _one_error_line(capsys)
    assert "holds a finished resnet-fer train run" in line and "--resume" in line and "--force" in line
    assert _train(out, "--resume") == 0  # reused: read back from the checkpoints
    again = load_checkpoint(out / "checkpoints" / "fold0.pt")["model"]
    assert all(torch.equal(first[k], again[k]) for k in first)
    (out / "checkpoints" / "fold9.pt").write_bytes(b"left by the old run")
    assert _train(out, "--force") == 0  # started over: the old run's checkpoints are gone
    assert not (out / "checkpoints" / "fold9.pt").exists()
    assert _marker(out)["status"] == "finished" and not (out / ".lock").exists()
    with pytest.raises(SystemExit) as exit_:
        _train(out, "--resume", "--force")
    assert exit_.value.code == 2


def test_resume_refuses_other_data_settings(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out) == 0
    capsys.readouterr()
    assert _train(out, "--resume", "--split-seed", "3") == 2
    assert "other settings (split_seed)" in _one_error_line(capsys)


def test_out_problems_are_reported_before_any_work(tmp_path, capsys, monkeypatch, no_work):
    (tmp_path / "a_file").write_text("x")
    assert _train(tmp_path / "a_file") == 2
    assert "is a file, not a folder" in _one_error_line(capsys)

    def read_only(self, data):  # the tests may run as root, whom chmod does not stop
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("pathlib.Path.write_bytes", read_only)
    assert _train(tmp_path / "new") == 2
    assert "cannot write to" in _one_error_line(capsys)


def test_a_full_disk_while_checkpointing_is_one_line_and_leaves_no_temporary_file(
        tmp_path, capsys, full_disk):
    out = tmp_path / "run"
    assert _train(out) == 2
    line = _one_error_line(capsys)
    assert "cannot write checkpoint" in line and "fold0.pt: no space left on the device" in line
    # nothing was kept, so nothing is left that would block the same command run again
    assert not out.exists()


def test_temporary_files_of_a_killed_run_are_removed_on_resume(tmp_path, dead_pid):
    out = tmp_path / "run"
    assert _train(out) == 0
    stale = out / "checkpoints" / f".fold1.pt.{dead_pid}.tmp"
    stale.write_bytes(b"killed mid-write")
    assert _train(out, "--resume") == 0
    assert not list(out.rglob("*.tmp"))


# --- resnet-fer train: the device, Ctrl-C, the data ------------------------------------------
def test_device_cuda_without_a_gpu_is_one_line_before_any_work(tmp_path, capsys, monkeypatch,
                                                                no_work):
    from resnet_fer import compare

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _train(tmp_path / "run", "--device", "cuda") == 2
    line = _one_error_line(capsys)
    assert line.startswith("resnet-fer: error: --device cuda: no CUDA device is available")
    assert not (tmp_path / "run").exists()
    assert compare.main(["--device", "cuda", "--out", str(tmp_path / "cmp"), "--quick"]) == 2
    line = _one_error_line(capsys, "fer-compare")
    assert line.startswith("fer-compare: error: --device cuda: no CUDA device is available")


def test_ctrl_c_says_how_to_resume_and_exits_130(tmp_path, capsys, monkeypatch):
    from resnet_fer import train

    real = train.cross_validate

    def ctrl_c(info):
        raise KeyboardInterrupt

    def interrupted(*args, **kwargs):  # Ctrl-C after the first epoch's checkpoint
        return real(*args, **kwargs, callback=ctrl_c)

    monkeypatch.setattr(train, "cross_validate", interrupted)
    out = tmp_path / "run"
    assert _train(out) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip() == ("resnet-fer: interrupted; rerun the same command with --resume to "
                           "continue from the last checkpoint")
    assert _marker(out)["status"] == "interrupted" and not (out / ".lock").exists()
    monkeypatch.setattr(train, "cross_validate", real)
    assert _train(out) == 2  # an unfinished run is continued only when asked
    assert "unfinished resnet-fer train run; use --resume" in _one_error_line(capsys)
    assert _train(out, "--resume") == 0


@pytest.mark.parametrize("fault,match", [
    ("missing", r"--data .*missing: image folder not found"),
    ("corrupt", r"Angry_0_1\.png: .*--skip-bad"),
    ("no class folders", r"no \.png/\.jpg/\.jpeg images for class"),
])
def test_bad_data_is_one_line_with_exit_2(tmp_path, capsys, fault, match):
    import re

    from resnet_fer import cli

    root = tmp_path / "images"
    if fault == "corrupt":
        _image_folder(root)
        (root / "Angry" / "Angry_0_1.png").write_bytes(b"\x89PNG\r\n\x1a\n and then nothing")
    elif fault == "no class folders":
        root.mkdir()
    args = [*TRAIN, "--data", str(root if fault != "missing" else tmp_path / "missing"),
            "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "run")]
    assert cli.main(args) == 2
    assert re.search(match, _one_error_line(capsys))


def test_bad_data_in_fer_compare_is_one_line_with_exit_2(tmp_path, capsys):
    from resnet_fer import compare

    root = _image_folder(tmp_path / "images")
    (root / "Angry" / "Angry_0_1.png").write_bytes(b"\x89PNG\r\n\x1a\n and then nothing")
    assert compare.main(["--quick", "--data", str(root), "--out", str(tmp_path / "cmp"),
                         "--no-progress"]) == 2
    assert "Angry_0_1.png" in _one_error_line(capsys, "fer-compare")


# --- resnet-fer train under DDP: rank 0 alone owns --out ----------------------------------
def test_other_ranks_neither_lock_nor_write_the_out_folder(tmp_path, monkeypatch):
    from resnet_fer import distributed, train
    from resnet_fer.distributed import DistInfo

    calls = []
    monkeypatch.setattr(distributed, "init_from_env",
                        lambda device: (DistInfo(rank=1, world_size=2), torch.device("cpu")))
    monkeypatch.setattr(distributed, "main_succeeded", lambda ok, device: True)
    monkeypatch.setattr(train, "cross_validate", lambda *a, **kw: calls.append(kw["out_dir"]))
    out = tmp_path / "run"
    assert _train(out) == 0
    assert calls == [out]  # trained (it reads rank 0's checkpoints when resuming) ...
    assert not out.exists()  # ... but no lock, no marker, no results of its own


def test_other_ranks_stop_when_rank_0_failed(tmp_path, monkeypatch, no_work):
    from resnet_fer import distributed
    from resnet_fer.distributed import DistInfo

    monkeypatch.setattr(distributed, "init_from_env",
                        lambda device: (DistInfo(rank=1, world_size=2), torch.device("cpu")))
    monkeypatch.setattr(distributed, "main_succeeded", lambda ok, device: False)
    assert _train(tmp_path / "run") == 2  # rank 0 printed why; this rank just leaves


# --- help and version --------------------------------------------------------------------
def test_version_and_each_default_shown_once_in_the_help(capsys, monkeypatch):
    from bpnet import __version__
    from resnet_fer import cli, compare

    for main, tool in ((cli.main, "resnet-fer"), (compare.main, "fer-compare")):
        with pytest.raises(SystemExit) as exit_:
            main(["--version"])
        assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"{tool} {__version__}"
    monkeypatch.setenv("COLUMNS", "300")  # one line per option
    for main, argv in ((cli.main, ["train", "--help"]), (compare.main, ["--help"])):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "(default: None)" not in text and "(default: False)" not in text
        for line in text.splitlines():
            assert line.count("default") <= 1, line
        lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  --")}
        assert "default: 5" in lines["--folds"] and "default: 0" in lines["--seed"]  # 0 is shown
