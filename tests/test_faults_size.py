"""Fault injection, sizes: work that cannot fit is refused before it starts, in one line.
docs/reliability.rst lists every case.
"""
import io
import json
import zipfile

import numpy as np
import pytest

import bpnet
from bpnet import cli


def _sheet(tmp_path, n_per_class=4, classes=7):
    rng = np.random.default_rng(0)
    rows = ["name,label," + ",".join([f"lpq_pc{i}" for i in range(1, 6)]
                                     + [f"phog_pc{i}" for i in range(1, 6)])]
    for k in range(classes):
        for i in range(n_per_class):
            rows.append(f"m{k}x{i}_00{i}_1,{k + 1}," + ",".join(f"{v:.5f}" for v in rng.normal(size=10)))
    path = tmp_path / "sheet.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _error(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines and lines[-1].startswith("bpnet: error: ") and "Traceback" not in captured.err
    return captured.out, lines[-1]


@pytest.fixture()
def no_search(monkeypatch):
    from bpnet import model_selection

    def forbidden(*args, **kwargs):
        raise AssertionError("the search started despite its size")

    monkeypatch.setattr(model_selection, "grid_search_cv", forbidden)


# --- bpnet tune: the size of a search, before it starts -----------------------------------
def test_tune_prints_its_size_before_it_starts(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"n_hidden": [3, 6], "epochs": [5, 10]}))
    assert cli.main(["tune", "--data", str(_sheet(tmp_path)), "--folds", "2", "--inner-folds",
                     "2", "--n-init", "1", "--grid", str(grid), "--no-progress"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    # 2 outer x 2 inner x 1 init x 2 networks (epochs share one) + 2 refits
    assert first.startswith("bpnet tune: 4 settings: 10 networks (2 outer x 2 inner folds x 1 "
                            "initialisations x 2 models, + 2 refits), up to 10 epochs each")
    assert "roughly" in first and "of memory at the peak" in first


@pytest.mark.parametrize("flags", [["--n-init", "1000000"], ["--epochs", "1000000000"],
                                   ["BIG"]])
def test_tune_refuses_a_search_too_big_for_the_memory(tmp_path, capsys, monkeypatch, no_search,
                                                     flags):
    monkeypatch.setattr("bpnet.input_checks.available_memory", lambda: 4 * 2**30)
    grid = tmp_path / "grid.json"
    if flags == ["BIG"]:  # 10^6 settings, counted without being expanded
        grid.write_text(json.dumps({"n_hidden": list(range(1, 101)), "lr": [0.01] * 100,
                                    "weight_decay": [0.0] * 100}))
        flags = []
    else:
        grid.write_text(json.dumps({"n_hidden": [8, 16]}))
    flags += ["--grid", str(grid)]
    assert cli.main(["tune", "--data", str(_sheet(tmp_path)), "--no-progress", *flags]) == 2
    out, line = _error(capsys)
    assert "this search needs about" in line and "4.0 GiB are available" in line
    assert "use a smaller grid, --n-init or --epochs" in line
    assert out.startswith("bpnet tune: ") and "networks" in out  # the size was printed first


def test_cv_refuses_epochs_whose_curves_cannot_fit_before_training(tmp_path, capsys,
                                                                   monkeypatch):
    """10^9 epochs: the per-epoch curves alone would take hundreds of GiB."""
    monkeypatch.setattr("bpnet.input_checks.available_memory", lambda: 4 * 2**30)

    def forbidden(*args, **kwargs):  # without the check: 4 arrays of 16 GB each
        raise AssertionError("the curves were allocated despite their size")

    monkeypatch.setattr("bpnet.callbacks.Curves.on_train_begin", forbidden)
    assert cli.main(["cv", "--data", str(_sheet(tmp_path)), "--folds", "2", "--epochs",
                     "1000000000", "--no-progress"]) == 2
    line = _error(capsys)[1]
    assert "training 2 model(s) of 32 hidden units on 28 rows for 1,000,000,000 epochs needs " \
           "about 59.6 GiB of memory, 4.0 GiB are available" in line


def test_the_estimate_counts_a_huge_grid_without_expanding_it():
    from bpnet.tune_budget import estimate_tune

    grid = {f"p{i}": list(range(10)) for i in range(12)}  # 10^12 settings
    budget = estimate_tune(grid, {}, n_rows=675, n_features=10, n_classes=7, n_outer=20,
                           n_inner=5, n_init=3, refit=True)
    assert budget.n_settings == 10**12 and budget.peak_bytes > 2**40
    with pytest.raises(MemoryError, match="needs about"):
        budget.check_memory(16 * 2**30)


# --- --size against a pixel budget --------------------------------------------------------
@pytest.mark.parametrize("size,match", [("0", "at least 8 pixels, got 0"),
                                        ("-5", "at least 8 pixels, got -5"),
                                        ("20000", "400,000,000 pixels per image is over the budget")])
def test_features_size_is_checked_before_any_image_is_read(tmp_path, capsys, size, match):
    assert cli.main(["features", str(tmp_path), "-o", str(tmp_path / "f.csv"), "--size", size]) == 2
    assert match in _error(capsys)[1]


@pytest.mark.parametrize("flags,match", [
    (["--size", "0"], "--size must be at least 8 pixels"),
    (["--size", "20000"], "over the budget of 2048 x 2048"),
    (["--decode-size", "-5"], "--decode-size must be at least 8"),
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--threads", "0"], "--threads must be at least 1, got 0"),
])
def test_resnet_fer_numbers_are_one_line_before_any_work(tmp_path, capsys, flags, match):
    pytest.importorskip("torch")
    from resnet_fer import cli as rcli

    with pytest.raises(SystemExit) as stop:
        rcli.main(["train", "--out", str(tmp_path / "out"), *flags])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and match in err.strip().splitlines()[-1]
    assert "TrainConfig(" not in err and not (tmp_path / "out").exists()


# --- sheets --------------------------------------------------------------------------------
def test_a_zip_bomb_workbook_is_refused_before_it_is_unpacked(tmp_path):
    pytest.importorskip("openpyxl")
    from bpnet.data.sfew import load_sfew_features
    from bpnet.data.sheet_guard import MAX_SHEET_BYTES

    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (MAX_SHEET_BYTES + 1))
    assert bomb.stat().st_size < 2**20
    with pytest.raises(ValueError, match=r"bomb\.xlsx: the workbook unpacks to 256 MiB, over"):
        load_sfew_features(bomb)


def test_a_csv_row_with_nul_bytes_is_refused_naming_the_line(tmp_path):
    from bpnet.data.sfew import load_sfew_features

    path = _sheet(tmp_path)
    lines = path.read_text().splitlines()
    lines.insert(3, "\x00\x00,1," + ",".join(["0.5"] * 10))
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"sheet\.csv: line 4 holds NUL bytes"):
        load_sfew_features(path)


# --- model files ---------------------------------------------------------------------------
def _model(tmp_path):
    net = bpnet.BPNetwork(10, 16, 7, seed=0)
    return bpnet.save(net, tmp_path / "net.npz")


def _replace_entry(path, name, payload):
    with zipfile.ZipFile(path) as archive:
        entries = {i.filename: archive.read(i) for i in archive.infolist()}
    entries[name] = payload
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in entries.items():
            archive.writestr(key, value)


def test_a_model_whose_array_header_claims_74_gib_is_refused_before_allocating(tmp_path):
    path = _model(tmp_path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)})
    _replace_entry(path, "W1.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(ValueError, match=r"net\.npz: model file is inconsistent: array W1 "
                                         r"declares shape \(100000, 100000\) \(74\.5 GiB\)"):
        bpnet.load(path)


def test_an_array_larger_than_its_config_implies_is_refused(tmp_path):
    path = _model(tmp_path)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros((1000, 1000)))
    _replace_entry(path, "W1.npy", buffer.getvalue())
    with pytest.raises(ValueError, match="more than its config implies"):
        bpnet.load(path)


@pytest.mark.parametrize("version", [0, -1, 2, 10**6])
def test_only_versions_this_bpnet_wrote_load(tmp_path, version):
    path = _model(tmp_path)
    with np.load(path, allow_pickle=False) as data:
        entries = {k: data[k] for k in data.files}
    meta = json.loads(str(entries["__bpnet__"]))
    meta["version"] = version
    entries["__bpnet__"] = np.array(json.dumps(meta))
    with open(path, "wb") as handle:
        np.savez(handle, **entries)
    with pytest.raises(ValueError, match=f"format version {version} is not a version this "
                                         "bpnet wrote"):
        bpnet.load(path)


@pytest.mark.parametrize("version", [0, -1, True, 1.0, "1", None])
def test_one_version_check_refuses_what_no_bpnet_wrote(version):
    from bpnet.io import check_version

    with pytest.raises(ValueError, match=r"pipeline format version .* is not a version this "
                                         r"bpnet wrote \(it reads 1 to 2\)$"):
        check_version(version, 2, "pipeline format")


def test_one_version_check_names_a_newer_bpnet_and_passes_its_own():
    from bpnet.io import check_version

    assert [check_version(v, 2, "model format") for v in (1, 2)] == [1, 2]
    with pytest.raises(ValueError, match="model format version 3 is not a version this bpnet "
                                         "wrote: it needs a newer bpnet-fer .*upgrade"):
        check_version(3, 2, "model format")
