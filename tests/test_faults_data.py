"""Fault injection, fer-compare's data and split: tiny classes, missing classes, half-matched
sheets, a file given as the folder; each gets one line before work or a note on the console
and in the report. docs/reliability.rst lists every case.
"""
import numpy as np
import pytest

from bpnet.data.sfew import CLASS_NAMES
from bpnet.split_classes import split_class_problems

HEADER = "name,label," + ",".join([f"lpq_pc{i}" for i in range(1, 6)]
                                  + [f"phog_pc{i}" for i in range(1, 6)])


def _study(tmp_path, per_class, sheet_classes=None):
    """An image folder with ``per_class[c]`` images of class c, and a sheet of its rows
    (only the classes in ``sheet_classes``, when given)."""
    from PIL import Image

    root, rows = tmp_path / "images", [HEADER]
    rng = np.random.default_rng(0)
    for k, cls in enumerate(CLASS_NAMES):
        (root / cls).mkdir(parents=True)
        for i in range(per_class.get(cls, 0)):
            pixels = rng.integers(0, 200, (24, 24, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{cls}_{i}_1.png")
            if sheet_classes is None or cls in sheet_classes:
                rows.append(f"{cls}_{i}_1,{k + 1}," + ",".join(f"{v:.5f}" for v in rng.normal(size=10)))
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("\n".join(rows) + "\n")
    return root, sheet


def _compare(tmp_path, root, sheet, *extra):
    pytest.importorskip("torch")
    from resnet_fer import compare

    return compare.main(["--quick", "--data", str(root), "--features", str(sheet),
                         "--device", "cpu", "--no-progress", "--out", str(tmp_path / "out"),
                         *extra])


@pytest.fixture()
def no_training(monkeypatch):
    pytest.importorskip("torch")
    from resnet_fer import compare_stages

    def forbidden(*args, **kwargs):
        raise AssertionError("training started despite the error")

    monkeypatch.setattr(compare_stages, "fit_model", forbidden)


def _one_error_line(capsys):
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("fer-compare: error: "), err
    return lines[0]


def test_split_class_problems_names_folds_and_classes():
    y = np.array([0, 0, 0, 1, 1, 1, 2])  # class 2 has one member
    splits = [(np.array([1, 2, 4, 5, 6]), np.array([0, 3])),
              (np.array([0, 2, 3, 5]), np.array([1, 4, 6])),
              (np.array([0, 1, 3, 4, 6]), np.array([2, 5]))]
    problems = split_class_problems(splits, y, ["a", "b", "c"])
    assert problems == ["fold 2 has no training image of c, so it cannot predict that class"]
    splits[1] = (np.array([0, 2, 3, 5, 6]), np.array([1, 4]))
    assert split_class_problems(splits, y, ["a", "b", "c"]) == [
        "c is in no test fold, so its recall and precision are undefined (tables show 0.00)"]


def test_a_class_left_out_of_a_training_fold_is_refused_before_work(tmp_path, capsys,
                                                                    no_training):
    root, sheet = _study(tmp_path, {c: 3 for c in CLASS_NAMES} | {"Disgust": 1})
    assert _compare(tmp_path, root, sheet, "--folds", "3") == 2
    line = _one_error_line(capsys)
    assert "has no training image of Disgust" in line and "--allow-missing-classes" in line
    assert not (tmp_path / "out").exists()


def test_allowed_missing_classes_are_noted_per_fold_in_the_report(tmp_path, capsys):
    root, sheet = _study(tmp_path, {c: 3 for c in CLASS_NAMES} | {"Disgust": 1})
    assert _compare(tmp_path, root, sheet, "--folds", "3", "--allow-missing-classes") == 0
    err = capsys.readouterr().err
    assert "note: split: fold" in err and "no training image of Disgust" in err
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Data note: split: fold" in report and "cannot predict that class" in report


def test_a_three_class_sheet_is_a_three_class_study_and_dropped_rows_are_said(tmp_path, capsys,
                                                                            monkeypatch):
    from resnet_fer import compare_stages

    seen = {}

    def record(contender, recipe, why, data, *args, **kwargs):
        seen["classes"] = data.class_names
        raise KeyboardInterrupt

    monkeypatch.setattr(compare_stages, "fit_model", record)
    root, sheet = _study(tmp_path, {c: 3 for c in CLASS_NAMES},
                         sheet_classes=("Angry", "Happy", "Sad"))
    assert _compare(tmp_path, root, sheet, "--folds", "3") == 130
    assert seen["classes"] == ("Angry", "Happy", "Sad")
    err = capsys.readouterr().err
    assert "note: 12 image(s) without a feature row" in err  # on the console, not only the report
    assert err.count("note: 3 classes: no image of Disgust, Fear, Neutral, Surprise") == 1


def test_a_one_class_sheet_is_refused(tmp_path, capsys, no_training):
    root, sheet = _study(tmp_path, {c: 3 for c in CLASS_NAMES}, sheet_classes=("Happy",))
    assert _compare(tmp_path, root, sheet, "--folds", "2") == 2
    assert "one class only (Happy)" in _one_error_line(capsys)


def test_data_given_a_file_names_the_actual_problem(tmp_path, capsys, no_training):
    root, sheet = _study(tmp_path, {c: 2 for c in CLASS_NAMES})
    assert _compare(tmp_path, sheet, sheet) == 2
    line = _one_error_line(capsys)
    assert "sheet.csv is a file; --data takes the image folder" in line
    assert "no such folder" not in line


def test_a_split_note_is_said_once_though_each_repeat_warns(tmp_path, capsys):
    """4 images per class and 6 folds: every repeat's split warns; one note, once."""
    root, sheet = _study(tmp_path, {c: 4 for c in CLASS_NAMES})
    assert _compare(tmp_path, root, sheet, "--folds", "6", "--repeats", "3", "--models",
                    "bp-paper") == 0
    err = capsys.readouterr().err
    assert err.count("note: the least populated class has 4 members") == 1, err
    report = (tmp_path / "out" / "report.md").read_text()
    assert report.count("Data note: the least populated class has 4 members") == 1
