"""Fault injection, the smaller command-line cases of round 3: notes instead of warnings,
plain help text, the paper's defaults, errors that point the right way. docs/reliability.rst
lists every case.
"""
import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpnet import cli
from bpnet.outdir import RunDir, RunDirError, WriteError, atomic_write_text
from bpnet.testing import assert_gradients_close

REPO = Path(__file__).resolve().parents[1]


def _sheet(tmp_path, classes=7, per_class=6):
    rng = np.random.default_rng(0)
    rows = ["name,label," + ",".join([f"lpq_pc{i}" for i in range(1, 6)]
                                     + [f"phog_pc{i}" for i in range(1, 6)])]
    for k in range(classes):
        for i in range(per_class):
            rows.append(f"m{k}x{i}_00{i}_1,{k + 1}," + ",".join(f"{v:.5f}" for v in rng.normal(size=10)))
    path = tmp_path / "sheet.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _last_error(capsys, tool="bpnet"):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[-1].startswith(f"{tool}: error: ") and "Traceback" not in err, err
    return lines[-1]


# --- quirk notices are the tool's own note: lines ----------------------------------------
@pytest.mark.filterwarnings("default")  # how a warning is shown is the point, even under -W error
def test_data_quirks_print_as_note_lines_without_a_source_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")
    from PIL import Image

    from bpnet.data.sfew import CLASS_NAMES
    from resnet_fer import cli as rcli
    from resnet_fer import train

    root = tmp_path / "images"
    for cls in CLASS_NAMES:
        (root / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(root / cls / f"{cls}_{i}_1.png")
    (root / "Happy" / "readme.txt").write_text("not an image")  # a quirk: ignored, and said

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "cross_validate", stop)
    assert rcli.main(["train", "--data", str(root), "--out", str(tmp_path / "out"), "--size", "16",
                      "--cache-dir", str(tmp_path / "cache"), "--no-progress", "--device",
                      "cpu", "--folds", "2"]) == 130
    err = capsys.readouterr().err
    notes = [ln for ln in err.splitlines() if ln.startswith("note: ")]
    assert len(notes) == 1 and "1 data quirk handled" in notes[0] and "readme.txt" in err
    assert "Warning" not in err and "warnings.warn" not in err and ".py:" not in err


# --- help, defaults ----------------------------------------------------------------------------
def test_resnet_fer_help_is_plain_text(capsys):
    pytest.importorskip("torch")
    from resnet_fer import cli as rcli

    with pytest.raises(SystemExit):
        rcli.main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out and ":class:" not in out and "resnet-fer train --help" in out


def test_bpnet_cv_defaults_are_the_papers_network():
    args = cli.build_parser().parse_args(["cv"])
    assert (args.hidden, args.epochs, args.lr) == (32, 1000, 0.01)  # 10-32-7, 1000 epochs of Adam


def test_a_one_class_sheet_is_refused_by_bpnet(tmp_path, capsys):
    assert cli.main(["cv", "--data", str(_sheet(tmp_path, classes=1)), "--no-progress"]) == 2
    assert "the data hold one class only (Angry)" in _last_error(capsys)


def test_a_three_class_sheet_is_a_three_class_network(tmp_path, capsys):
    assert cli.main(["cv", "--data", str(_sheet(tmp_path, classes=3)), "--folds", "2",
                     "--epochs", "2", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "BP network 10-32-3" in captured.out and "Neutral" not in captured.out
    assert "note: 3 classes: no row of Happy, Neutral, Sad, Surprise" in captured.err


def test_bpnet_cv_notes_a_class_missing_from_a_training_fold(tmp_path, capsys):
    assert cli.main(["cv", "--data", str(_sheet(tmp_path, per_class=1)), "--folds", "3",
                     "--epochs", "2", "--hidden", "2", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "note: split: fold 1 has no training image of" in err


# --- errors that point the right way ---------------------------------------------------------
def test_ctrl_c_on_features_gives_a_hint_features_can_follow(tmp_path, capsys, monkeypatch):
    from bpnet.data import features

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(features, "extract_features", interrupted)
    out = tmp_path / "f.csv"
    assert cli.main(["features", str(tmp_path), "-o", str(out)]) == 130
    err = capsys.readouterr().err.strip()
    assert err == f"bpnet: interrupted; {out} was not written: run the same command again"


@pytest.fixture()
def full_disk_on(monkeypatch):
    """``os.fsync`` fails with ENOSPC for temporary files of the named file."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to tell files apart")
    real = os.fsync
    names = []

    def fsync(fd):
        if any(os.readlink(f"/proc/self/fd/{fd}").split("/")[-1].startswith(f".{n}.")
               for n in names):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return names


def test_a_full_disk_during_the_report_names_the_file(tmp_path, capsys, full_disk_on):
    full_disk_on.append("results.json")
    out = tmp_path / "run"
    assert cli.main(["cv", "--data", str(_sheet(tmp_path)), "--folds", "2", "--epochs", "2",
                     "--hidden", "2", "--no-progress", "--out", str(out)]) == 2
    line = _last_error(capsys)
    assert line == (f"bpnet: error: cannot write {out / 'results.json'}: no space left on the "
                    "device")
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize("command,name", [
    (["cv", "--prune", "--epochs-per-round", "1"], "pruning.png"),
    (["tune", "--inner-folds", "2", "--n-init", "1", "--grid", "GRID"], "grid.csv"),
    (["tune", "--inner-folds", "2", "--n-init", "1", "--grid", "GRID"], "heatmap.png"),
])
def test_a_full_disk_at_a_figure_or_table_names_the_file(tmp_path, capsys, full_disk_on,
                                                         command, name):
    grid = tmp_path / "grid.json"
    grid.write_text('{"n_hidden": [2, 3]}')
    full_disk_on.append(name)
    out = tmp_path / "run"
    argv = [str(grid) if a == "GRID" else a for a in command]
    assert cli.main([*argv, "--data", str(_sheet(tmp_path)), "--folds", "2", "--epochs", "2",
                     "--no-progress", "--out", str(out)]) == 2
    assert _last_error(capsys) == (f"bpnet: error: cannot write {out / name}: no space left "
                                   "on the device")
    assert not (out / name).exists() and not list(out.glob(".*.tmp"))


def test_a_full_disk_at_features_names_the_file_and_leaves_no_half_table(tmp_path, capsys,
                                                                        full_disk_on):
    from PIL import Image

    from bpnet.data.sfew import CLASS_NAMES

    rng = np.random.default_rng(0)
    for cls in CLASS_NAMES:
        (tmp_path / "images" / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(
                tmp_path / "images" / cls / f"{cls}_{i}_1.png")
    full_disk_on.append("f.csv")
    out = tmp_path / "f.csv"
    assert cli.main(["features", str(tmp_path / "images"), "-o", str(out), "--size", "32",
                     "--no-progress"]) == 2
    assert _last_error(capsys) == f"bpnet: error: cannot write {out}: no space left on the device"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images"]


def test_write_errors_name_the_path_and_figures_name_the_folder(tmp_path, full_disk_on):
    full_disk_on.append("report.md")
    with pytest.raises(WriteError, match=r"^cannot write .*report\.md: no space left"):
        atomic_write_text(tmp_path / "report.md", "text")
    with pytest.raises(RunDirError, match=r"cannot write .*the figures: no space left on the "
                                          r"device; free some space, then .* --resume"):
        with RunDir(tmp_path / "run", "tool") as run, run.writing("the figures"):
            raise OSError(errno.ENOSPC, "No space left on device")


def test_a_bad_mplbackend_is_named_before_any_work(tmp_path):
    env = {**os.environ, "MPLBACKEND": "nonsense", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "bpnet", "cv", "--out", str(tmp_path / "o"),
                           "--no-progress"], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("bpnet: error: the environment variable MPLBACKEND="
                                   "'nonsense' is not a matplotlib backend; unset it or set it "
                                   "to 'agg' (the figures are drawn without a display)")
    assert not (tmp_path / "o").exists()


# --- assert_gradients_close: eps and tol --------------------------------------------------------
@pytest.mark.parametrize("eps,tol,match", [(0, 1e-6, "eps must be positive"),
                                           (-1e-6, 1e-6, "eps must be positive"),
                                           (float("nan"), 1e-6, "eps must be positive"),
                                           (1.0, 1e-6, "at most 0.1"),
                                           (1e-6, float("nan"), "tol must be positive"),
                                           (1e-6, -1.0, "tol must be positive"),
                                           (1e-6, 0.0, "tol must be positive"),
                                           (1e-6, float("inf"), "tol must be positive and "
                                                                "finite")])
def test_assert_gradients_close_validates_eps_and_tol(eps, tol, match):
    net = __import__("bpnet").BPNetwork(3, 4, 2, seed=0, dtype=np.float64)
    X, y = np.ones((5, 3)), np.array([0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match=match):
        assert_gradients_close(net, X, y, eps=eps, tol=tol)
    assert_gradients_close(net, X, y)  # a correct backward passes with the defaults


@pytest.mark.parametrize("flag,value,match", [
    ("--label-smoothing", "1.5", "label_smoothing must lie in"),
    ("--label-smoothing", "nan", "label_smoothing must lie in"),
    ("--warmup", "-1", "warmup must lie in"),
    ("--mixup", "-1", "mixup must be at least 0"),
    ("--degrees", "-3", "degrees must be at least 0"),
    ("--weight-decay", "-1", "weight_decay must be at least 0"),
])
def test_resnet_fer_recipe_numbers_out_of_range_are_one_line(tmp_path, capsys, flag, value,
                                                            match):
    """They trained without a word (a label smoothing of 1.5 gives negative targets)."""
    pytest.importorskip("torch")
    from resnet_fer import cli as rcli

    out = tmp_path / "out"
    tiny = ["--epochs", "1", "--synthetic-per-class", "2", "--folds", "2", "--size", "16",
            "--width", "4", "--stem", "small"]  # were it accepted: a short run, not an hour
    assert rcli.main(["train", "--out", str(out), "--device", "cpu", "--no-progress", *tiny,
                      flag, value]) == 2
    assert match in _last_error(capsys, "resnet-fer") and not out.exists()


def test_fer_compare_synthetic_per_class_0_names_the_option(tmp_path, capsys):
    pytest.importorskip("torch")
    from resnet_fer import compare

    with pytest.raises(SystemExit) as stop:
        compare.main(["--synthetic-per-class", "0", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == ("fer-compare: error: --synthetic-per-class must be "
                                            "at least 1, got 0")
    assert not (tmp_path / "out").exists()
