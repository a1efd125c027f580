"""The bpnet command line and the package's import hygiene."""
import subprocess
import sys

import pytest

from bpnet import cli, selfcheck


def test_check_without_torch_passes(capsys):
    assert cli.main(["check", "--no-torch"]) == 0
    out = capsys.readouterr().out
    assert "finite-difference checks only" in out
    assert "30 passed, 0 failed" in out


def test_check_with_torch_reports_every_combination(capsys):
    pytest.importorskip("torch")
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    for name in ("sigmoid/sigmoid/mse", "relu/softmax/cross_entropy x3", "adamw(", "nesterov=True"):
        assert name in out
    assert "35 passed, 0 failed" in out and "FAIL" not in out


def test_a_failing_row_fails_the_report():
    row = selfcheck.CheckRow("x", {"gradcheck": 1e-3, "torch forward": None})
    assert not row.passed
    assert "FAIL" in selfcheck.format_report([row])


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "bpnet.cli", "--help"], capture_output=True,
                            text=True, check=True)
    assert "check" in result.stdout


def test_import_bpnet_pulls_in_neither_torch_nor_sklearn():
    code = ("import sys, bpnet, bpnet.cli, bpnet.selfcheck; "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_cv_on_builtin_synthetic_faces(capsys, tmp_path):
    code = cli.main(["cv", "--folds", "3", "--epochs", "20", "--hidden", "4", "--prune",
                     "--epochs-per-round", "5", "--no-progress", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "3-fold stratified cross-validation" in out and "macro avg" in out
    summary = __import__("json").loads((tmp_path / "summary.json").read_text())
    assert summary["data"] == "synthetic faces" and summary["folds"] == 3
    assert 0 <= summary["test_accuracy_mean"] <= 1
    assert (tmp_path / "pruning.png").is_file()


def test_features_command_writes_a_csv_readable_by_the_loader(tmp_path, capsys):
    from bpnet.data.sfew import load_sfew_features
    from bpnet.data.synthetic import synthetic_faces, write_image_folder

    root = write_image_folder(synthetic_faces(n_per_class=3, size=48, seed=1), tmp_path / "img")
    assert cli.main(["features", str(root), "-o", str(tmp_path / "f.csv"), "--no-progress"]) == 0
    ds = load_sfew_features(tmp_path / "f.csv")
    assert ds.X.shape == (21, 10) and list(ds.feature_names)[0] == "lpq_pc1"


def test_cv_reports_a_missing_data_path(capsys):
    assert cli.main(["cv", "--data", "does/not/exist.xlsx"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpnet: error: --data does/not/exist.xlsx: no such file")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["cv", "--folds", "1"], "--folds must be at least 2, got 1"),
    (["cv", "--hidden", "0"], "--hidden must be at least 1, got 0"),
    (["cv", "--lr", "-1"], "--lr must be positive"),
    (["cv", "--compensate"], "add --prune"),
    (["tune", "--inner-folds", "1"], "--inner-folds must be at least 2"),
])
def test_bad_numbers_are_one_line_before_any_work(argv, message, capsys):
    assert cli.main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpnet: error: ") and message in err and err.count("\n") == 1


def test_cv_never_overwrites_a_finished_run_unless_forced(tmp_path, capsys):
    argv = ["cv", "--folds", "2", "--epochs", "2", "--hidden", "2", "--no-progress",
            "--out", str(tmp_path / "run")]
    assert cli.main(argv) == 0
    first = (tmp_path / "run" / "results.json").read_text()
    capsys.readouterr()
    assert cli.main(argv) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "run" / "results.json").read_text() == first
    assert cli.main([*argv, "--force"]) == 0


def test_features_refuses_to_replace_an_output_without_force(tmp_path, capsys):
    out = tmp_path / "f.csv"
    out.write_text("keep me")
    assert cli.main(["features", str(tmp_path), "-o", str(out), "--no-progress"]) == 2
    assert "pass --force" in capsys.readouterr().err and out.read_text() == "keep me"


def test_version(capsys):
    from bpnet import __version__

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"bpnet {__version__}"
