"""Fault injection, corrupt run state: every file a resume reads back (fer-compare's stage
files, resnet-fer's fold checkpoints) that was emptied, truncated or garbled gives one line
naming the file and ``--force``, never a traceback. docs/reliability.rst lists every case.
"""
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from resnet_fer import cli, compare, compare_stages  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["--quick", "--synthetic-per-class", "6", "--folds", "2", "--no-progress",
        "--device", "cpu"]
TRAIN = ["train", "--device", "cpu", "--epochs", "1", "--size", "16", "--width", "8", "--stem",
         "small", "--synthetic-per-class", "3", "--folds", "2", "--batch-size", "8",
         "--no-progress"]
# the split, one fold of each model (stages/<model>/r<repeat>-f<fold>.json), the side studies
STAGES = ["splits", "bp-paper/r0-f0", "resnet18/r0-f1", "studies"]


def _corrupt(path, how):
    data = path.read_bytes()
    if how == "emptied to {}":
        path.write_text("{}")
    elif how == "zero bytes":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbled":
        path.write_bytes(bytes(b ^ 0x5A for b in data[:64]) + data[64:])
    elif how == "a list":
        path.write_text("[1, 2, 3]")


def _one_error_line(capsys, tool):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{tool}: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def finished_compare(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "run"
    assert compare.main([*TINY, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("how", ["emptied to {}", "truncated", "garbled", "a list"])
@pytest.mark.parametrize("stage", STAGES)
def test_a_corrupt_stage_file_is_one_line_naming_it(tmp_path, capsys, finished_compare, stage,
                                                   how):
    out = tmp_path / "run"
    shutil.copytree(finished_compare, out)
    _corrupt(out / "stages" / f"{stage}.json", how)
    capsys.readouterr()
    assert compare.main([*TINY, "--out", str(out), "--resume"]) == 2
    line = _one_error_line(capsys, "fer-compare")
    assert f"stages/{stage}.json is corrupt" in line and "--force" in line


def test_a_deleted_corrupt_stage_is_computed_again(tmp_path, capsys, finished_compare):
    out = tmp_path / "run"
    shutil.copytree(finished_compare, out)
    _corrupt(out / "stages" / "studies.json", "truncated")
    (out / "stages" / "studies.json").unlink()  # what the error line suggests
    assert compare.main([*TINY, "--out", str(out), "--resume"]) == 0


@pytest.fixture(scope="module")
def finished_train(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "run"
    assert cli.main([*TRAIN, "--out", str(out)]) == 0
    return out


def _missing_key(path):
    state = torch.load(path, weights_only=True)
    del state["optimizer"]
    state["done"] = False
    torch.save(state, path)


def _bad_result(path):
    state = torch.load(path, weights_only=True)
    state["result"] = {"y_true": "garbage"}
    torch.save(state, path)


@pytest.mark.parametrize("how", ["zero bytes", "truncated", "garbled", "foreign dict",
                                 "missing key", "bad result"])
def test_a_corrupt_checkpoint_is_one_line_naming_it(tmp_path, capsys, finished_train, how):
    out = tmp_path / "run"
    shutil.copytree(finished_train, out)
    ckpt = out / "checkpoints" / "fold1.pt"
    if how == "foreign dict":
        torch.save({"format": 1, "weights": torch.zeros(2)}, ckpt)
    elif how == "missing key":
        _missing_key(ckpt)
    elif how == "bad result":
        _bad_result(ckpt)
    else:
        _corrupt(ckpt, how)
    capsys.readouterr()
    assert cli.main([*TRAIN, "--out", str(out), "--resume"]) == 2
    line = _one_error_line(capsys, "resnet-fer")
    assert "checkpoints/fold1.pt" in line and "--force" in line


def test_a_corrupt_cached_feature_table_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    from PIL import Image

    from bpnet.data.sfew import CLASS_NAMES

    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    for cls in CLASS_NAMES:
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(
                root / cls / f"{cls}_{i}_1.png")

    def interrupted(*args, **kwargs):  # Ctrl-C once the features and the split were kept
        raise KeyboardInterrupt

    monkeypatch.setattr(compare_stages, "fit_model", interrupted)
    argv = [*TINY, "--data", str(root), "--folds", "3", "--out", str(tmp_path / "run")]
    assert compare.main(argv) == 130
    _corrupt(tmp_path / "run" / "features.csv", "truncated")
    capsys.readouterr()
    assert compare.main([*argv, "--resume"]) == 2
    line = _one_error_line(capsys, "fer-compare")
    assert "run/features.csv is corrupt" in line and "--force" in line
