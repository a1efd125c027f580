"""bpnet.data.sfew and bpnet.data.image_folder: the SFEW feature sheet, CSV round trip, image folders.

Tests marked ``sfew`` read the real (research-licensed) data through the ``sfew_dir``
fixture and skip without it; every other test builds small files in ``tmp_path``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bpnet.data.image_dataset import load_image_dataset, load_images
from bpnet.data.image_folder import ImageFolder, cross_check, scan_image_folder
from bpnet.data.sfew import (
    CLASS_NAMES,
    SFEW_FEATURE_NAMES,
    DataQuirkWarning,
    FeatureDataset,
    load_sfew_features,
    movie_from_name,
    save_features_csv,
)

CONFLICT = "HarryPotter_Deathly_Hallows_1_001610960_00000028"
HEADER = ["name", "label", *SFEW_FEATURE_NAMES]


# ----------------------------------------------------------------------------- fixtures
def _rows(n: int = 14, seed: int = 0) -> list[list]:
    """n rows ``[name.mat, label 1..7, 10 floats]``, two per class, 3 movies."""
    rng = np.random.default_rng(seed)
    return [[f"Movie{i % 3}_{1000 + i:09d}_{i:08d}.mat", i % 7 + 1, *rng.normal(0, 1e-3, 10).tolist()]
            for i in range(n)]


def _write_csv(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_sfew_like_xlsx(path: Path, rows: list[list], two_level: bool = False) -> Path:
    """The real sheet's layout: a group header merged over C1:G1, H1 unmerged."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([None, "label",
                  "First 5 Principal Components of Local Phase Quantization (LPQ) features",
                  None, None, None, None,
                  "First 5 Principal Components of Pyramid of Histogram of Gradients (PHOG) features"])
    sheet.merge_cells("C1:G1")
    if two_level:  # a genuine second header level: "PC1".."PC5" under each group
        sheet.append(["name", None, *[f"PC{i}" for i in range(1, 6)] * 2])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _write_image_tree(root: Path, per_class: dict[str, list[str]], ext: str = ".png") -> Path:
    for cls, names in per_class.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for k, name in enumerate(names):
            Image.fromarray(np.full((12, 10, 3), 20 * k, np.uint8)).save(root / cls / f"{name}{ext}")
    return root


def _tree_for(rows: list[list]) -> dict[str, list[str]]:
    tree = {c: [] for c in CLASS_NAMES}
    for row in rows:
        tree[CLASS_NAMES[row[1] - 1]].append(Path(row[0]).stem)
    return tree


def _quirk_message(record) -> str:
    quirks = [w for w in record if issubclass(w.category, DataQuirkWarning)]
    assert len(quirks) == 1, [str(w.message) for w in quirks]
    return str(quirks[0].message)


# ----------------------------------------------------------------------------- real data
@pytest.mark.sfew
@pytest.mark.parametrize("policy, n", [("mean", 675), ("drop", 674)])
def test_real_sheet_rows_and_quirk_report(sfew_dir, policy, n):
    with pytest.warns(DataQuirkWarning) as record:
        data = load_sfew_features(sfew_dir / "SFEW.xlsx", nan_policy=policy)
    message = _quirk_message(record)
    assert len(data) == n and data.X.shape == (n, 10) and np.isfinite(data.X).all()
    assert data.feature_names == list(SFEW_FEATURE_NAMES)
    assert len(np.unique(data.groups)) == 60
    # The three quirks, each with the rows involved.
    assert "missing values (NaN)" in message and "row 207 (Hangover_001949614_00000089)" in message
    assert f"duplicate name: '{CONFLICT}' occurs in rows 214, 612" in message
    assert "label conflict" in message and "Fear (row 214) and Surprise (row 612)" in message
    assert ("column mean" if policy == "mean" else "row dropped") in message
    expected = np.array([100, 75, 100, 100, 100, 100, 100]) - (np.arange(7) == 2) * (policy == "drop")
    np.testing.assert_array_equal(data.class_counts(), expected)  # the NaN row is a Fear image
    assert sorted(data.y[[i for i, name in enumerate(data.names) if name == CONFLICT]]) == [2, 6]


@pytest.mark.sfew
def test_real_sheet_cross_checked_against_images(sfew_dir):
    with pytest.warns(DataQuirkWarning):
        data = load_sfew_features(sfew_dir / "SFEW.xlsx")
        folder = scan_image_folder(sfew_dir / "images")
    report = cross_check(data, folder)
    assert report.ok
    message = str(report)
    assert "confirmed by the image folder" in message and "Fear and Surprise" in message
    assert "only in" not in message and "mismatch" not in message
    assert len(data) == 675


@pytest.mark.sfew
def test_real_image_folder(sfew_dir):
    with pytest.warns(DataQuirkWarning, match=f"'{CONFLICT}' is in the folders Fear and Surprise"):
        folder = scan_image_folder(sfew_dir / "images")
    assert len(folder) == 675 and folder.class_names == CLASS_NAMES
    np.testing.assert_array_equal(np.bincount(folder.y), [100, 75, 100, 100, 100, 100, 100])
    assert len(np.unique(folder.groups)) == 60
    assert folder.duplicate_names() == {CONFLICT: ["Fear", "Surprise"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQuirkWarning)
        report = cross_check(load_sfew_features(sfew_dir / "SFEW.xlsx"), folder)
    assert report.ok and list(report.multi_label) == [CONFLICT]
    few = ImageFolder(folder.root, folder.paths[:3], folder.y[:3], folder.names[:3], folder.groups[:3])
    images = load_images(few, size=(36, 48))
    assert images.shape == (3, 36, 48, 3) and images.dtype == np.uint8 and images.std() > 0


# ----------------------------------------------------------------------------- feature tables
def test_sfew_layout_xlsx_and_csv_agree(tmp_path):
    rows = _rows()
    rows[3][7:12] = ["NaN"] * 5  # as in the real sheet: textual NaN
    rows[5][9] = None  # and an empty cell
    with pytest.warns(DataQuirkWarning) as record:
        from_xlsx = load_sfew_features(_write_sfew_like_xlsx(tmp_path / "s.xlsx", rows))
    assert "rows 5 (Movie0_000001003_00000003), 7 (" in _quirk_message(record)  # sheet rows
    with pytest.warns(DataQuirkWarning):
        csv_rows = [["" if v is None else v for v in r] for r in rows]
        from_csv = load_sfew_features(_write_csv(tmp_path / "s.csv", csv_rows))
    for data in (from_xlsx, from_csv):
        assert len(data) == 14 and np.isfinite(data.X).all()
        assert data.names[0] == "Movie0_000001000_00000000" and data.groups[0] == "Movie0"
        np.testing.assert_array_equal(data.y, np.arange(14) % 7)
        values = np.array([[np.nan if v in ("NaN", None) else v for v in r[2:]] for r in rows], float)
        np.testing.assert_allclose(data.X[[3, 5], [5, 7]], np.nanmean(values, axis=0)[[5, 7]])
        np.testing.assert_allclose(data.X[5, :7], values[5, :7], rtol=1e-12)
    np.testing.assert_allclose(from_xlsx.X, from_csv.X, rtol=1e-12)


def test_two_level_header_is_detected(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # clean data: no quirk warning at all
        data = load_sfew_features(_write_sfew_like_xlsx(tmp_path / "s.xlsx", _rows(), two_level=True))
    assert len(data) == 14 and data.feature_names == list(SFEW_FEATURE_NAMES)


@pytest.mark.parametrize("header, needle", [
    (HEADER[:-1] + ["notes"], "unexpected columns"),
    (HEADER[:-1], "unexpected columns"),
    (["name", "label", *SFEW_FEATURE_NAMES[:-1], "lpq_pc1"], "unexpected columns"),
])
def test_wrong_column_set_raises(tmp_path, header, needle):
    rows = [r[: len(header)] for r in _rows()]
    with pytest.raises(ValueError, match=needle):
        load_sfew_features(_write_csv(tmp_path / "bad.csv", rows, header))


def test_non_numeric_cell_is_named(tmp_path):
    rows = _rows()
    rows[15 - 2][3] = "abc"  # sheet row 15 (header in row 1), column D
    rows = (rows * 2)[:16]
    with pytest.raises(ValueError, match=r"s\.xlsx: cell D15 \(lpq_pc2\) is 'abc', expected a number"):
        load_sfew_features(_write_sfew_like_xlsx(tmp_path / "s.xlsx", rows))
    with pytest.raises(ValueError, match=r"s\.csv: cell D15 \(lpq_pc2\) is 'abc'"):
        load_sfew_features(_write_csv(tmp_path / "s.csv", rows))


@pytest.mark.parametrize("label", [8, 0, 2.5, "x", None])
def test_bad_label_is_named(tmp_path, label):
    rows = _rows()
    rows[2][1] = label
    with pytest.raises(ValueError, match=r"cell B4 \(label\) is .*expected a label in 1..7"):
        load_sfew_features(_write_sfew_like_xlsx(tmp_path / "s.xlsx", rows))


def test_nan_policy_is_validated(tmp_path):
    with pytest.raises(ValueError, match="nan_policy"):
        load_sfew_features(_write_csv(tmp_path / "s.csv", _rows()), nan_policy="zero")


def test_duplicates_are_kept_and_reported(tmp_path):
    rows = _rows()
    rows.append([rows[2][0], 7, *rows[2][2:]])  # same name and features, other label
    with pytest.warns(DataQuirkWarning) as record:
        data = load_sfew_features(_write_csv(tmp_path / "s.csv", rows))
    message = _quirk_message(record)
    assert len(data) == 15
    assert "occurs in rows 4, 16 (identical features); all rows kept" in message
    assert "label conflict" in message and "Fear (row 4) and Surprise (row 16)" in message


def test_csv_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(1)
    names = [f"Film_{i:06d}_{i:03d}" for i in range(20)]
    data = FeatureDataset(rng.normal(size=(20, 10)) * 10.0 ** rng.integers(-8, 3, (20, 10)),
                          rng.integers(0, 7, 20), names, [movie_from_name(n) for n in names])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = load_sfew_features(save_features_csv(data, tmp_path / "out" / "f.csv"))
    np.testing.assert_array_equal(back.X, data.X)
    np.testing.assert_array_equal(back.y, data.y)
    assert back.names == data.names and list(back.groups) == ["Film"] * 20
    other = FeatureDataset(data.X[:, :3], data.y, names, data.groups, ["a", "b", "c"])
    again = load_sfew_features(save_features_csv(other, tmp_path / "g.csv"), feature_names=None)
    assert again.feature_names == ["a", "b", "c"]
    np.testing.assert_array_equal(again.X, other.X)


def test_feature_dataset_checks_and_summary():
    data = FeatureDataset(np.zeros((3, 10)), [0, 1, 1], ["a_1_2", "b_1_2", "c_1_2"], ["a", "b", "c"])
    assert len(data) == 3 and "Disgust 2" in repr(data) and "n=3" in repr(data)
    assert data.subset([0, 2]).names == ["a_1_2", "c_1_2"]
    assert len(data.subset(np.array([True, False, True]))) == 2
    with pytest.raises(ValueError, match="inconsistent"):
        FeatureDataset(np.zeros((3, 10)), [0, 1], ["a", "b", "c"], ["a", "b", "c"])
    with pytest.raises(ValueError, match="0..6"):
        FeatureDataset(np.zeros((1, 10)), [7], ["a"], ["a"])
    assert movie_from_name(CONFLICT) == "HarryPotter_Deathly_Hallows_1"
    assert movie_from_name("x_1") == "x_1"


# ----------------------------------------------------------------------------- image folders
def test_scan_and_load_image_folder(tmp_path):
    tree = {c: [f"M{c}_1_{k}" for k in range(2)] for c in CLASS_NAMES}
    root = _write_image_tree(tmp_path / "img", tree)
    (root / "Happy" / "notes.txt").write_text("x")
    with pytest.warns(DataQuirkWarning, match=r"ignored 1 entries .*notes\.txt"):
        folder = scan_image_folder(root, verify=True)
    assert len(folder) == 14 and folder.names[0] == "MAngry_1_0" and folder.groups[0] == "MAngry"
    np.testing.assert_array_equal(folder.y, np.repeat(np.arange(7), 2))
    data = load_image_dataset(folder, size=6, grayscale=True)
    assert data.images.shape == (14, 6, 6) and data.images.dtype == np.uint8 and len(data) == 14
    assert load_images(folder, size=(12, 10), progress=False)[1, 0, 0, 0] == 20  # same size: exact


def test_unknown_and_empty_class_folders(tmp_path):
    tree = {c: [f"{c}_1_1"] for c in CLASS_NAMES}
    root = _write_image_tree(tmp_path / "img", {**tree, "Contempt": ["b_1_1"], "happy": ["c_1_1"]})
    with pytest.raises(ValueError, match=r"unknown class folder\(s\) Contempt, happy;"):
        scan_image_folder(root)
    root = _write_image_tree(tmp_path / "img2", {**tree, "Disgust": []})
    with pytest.raises(ValueError, match=r"no .*images for class\(es\) Disgust; every class needs"):
        scan_image_folder(root)
    (root / "Fear" / "Fear_1_1.png").unlink()
    (root / "Fear").rmdir()
    with pytest.raises(ValueError, match=r"class\(es\) Disgust, Fear \(folder missing\);"):
        scan_image_folder(root)
    assert len(scan_image_folder(root, allow_empty=True)) == 5


def test_unreadable_image_is_reported(tmp_path):
    root = _write_image_tree(tmp_path / "img", {c: [f"{c}_1_1"] for c in CLASS_NAMES})
    (root / "Sad" / "broken_1_1.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(ValueError, match=r"1 file\(s\) Pillow cannot decode:\n .*broken_1_1\.jpg"):
        scan_image_folder(root, verify=True)
    folder = scan_image_folder(root)  # without verify: caught when decoding, not skipped
    with pytest.raises(ValueError, match=r"cannot decode image .*broken_1_1\.jpg"):
        load_images(folder)


def test_cross_check_reports_differences(tmp_path):
    rows = _rows()
    tree = _tree_for(rows)
    tree["Angry"].remove("Movie0_000001000_00000000")  # only in the table
    tree["Happy"].append("Extra_1_1")  # only in the folder
    tree["Sad"].append(tree["Fear"].pop())  # label mismatch
    root = _write_image_tree(tmp_path / "img", tree)
    folder = scan_image_folder(root)
    report = cross_check(load_sfew_features(_write_csv(tmp_path / "t.csv", rows)), folder)
    message = str(report)
    assert not report.ok
    assert "1 name(s) only in the feature table: Movie0_000001000_00000000" in message
    assert "1 name(s) only in the image folder: Extra_1_1" in message
    assert "label mismatch: 'Movie0_000001009_00000009' is Fear in the feature table but Sad" in message
    assert cross_check(load_sfew_features(tmp_path / "t.csv"),
                       scan_image_folder(_write_image_tree(tmp_path / "ok", _tree_for(rows)))).ok


def test_a_quirk_list_on_one_line_for_the_report():
    from bpnet.data.sfew import format_quirks, one_line

    text = format_quirks("SFEW.xlsx", ["missing values in row 7", "duplicate name 'x'"])
    assert "\n" in text
    assert one_line(text) == ("SFEW.xlsx: 2 data quirks handled: missing values in row 7; "
                              "duplicate name 'x'")
    assert one_line("first line\nsecond") == "first line second"
