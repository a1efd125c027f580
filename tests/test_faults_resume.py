"""Fault injection, resuming: ``--resume`` never reuses results of inputs that changed since.

Each command is interrupted after it kept its first result, an input is changed, and the
resume must be refused in one line naming the first changed file and ``--force``.
docs/reliability.rst lists every case.
"""
import os
import re

import numpy as np
import pytest

from bpnet.data.sfew import CLASS_NAMES
from bpnet.digest import describe_change, input_digests
from bpnet.outdir import RunDir, RunDirError


def _png(path, seed, side=24):
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 180, (side, side, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, compress_level=0)  # uncompressed: the size is fixed


@pytest.fixture()
def inputs(tmp_path):
    """An image folder (2 per class) and its feature sheet (CSV, random features)."""
    pytest.importorskip("PIL")
    root = tmp_path / "images"
    rows = ["name,label," + ",".join([f"lpq_pc{i}" for i in range(1, 6)]
                                     + [f"phog_pc{i}" for i in range(1, 6)])]
    rng = np.random.default_rng(1)
    for k, cls in enumerate(CLASS_NAMES):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            _png(root / cls / f"{cls}_{i}_1.png", seed=10 * k + i)
            rows.append(f"{cls}_{i}_1,{k + 1}," + ",".join(f"{v:.6f}" for v in rng.normal(size=10)))
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("\n".join(rows) + "\n")
    return root, sheet


def _replace_in_place(path, seed):
    """Other pixels, the same size and the same time stamp."""
    info = path.stat()
    _png(path, seed)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert path.stat().st_size == info.st_size


CHANGES = {
    "sheet edited": (lambda root, sheet: sheet.write_text(sheet.read_text().replace(",0.", ",1.", 1)),
                     r"sheet\.csv was changed"),
    "image replaced": (lambda root, sheet: _replace_in_place(root / "Happy" / "Happy_0_1.png", 99),
                       r"Happy_0_1\.png was changed"),
    "image added": (lambda root, sheet: _png(root / "Sad" / "Sad_9_1.png", 7),
                    r"Sad_9_1\.png was added"),
    "image removed": (lambda root, sheet: (root / "Angry" / "Angry_1_1.png").unlink(),
                      r"Angry_1_1\.png was removed"),
}


def test_digests_see_content_not_times(inputs):
    root, sheet = inputs
    before = input_digests(root, [sheet])
    assert len(before) == 15
    os.utime(sheet, ns=(1, 1))  # a copy with new times: the same data
    assert describe_change(before, input_digests(root, [sheet])) is None


@pytest.mark.parametrize("change", CHANGES)
def test_rundir_refuses_to_resume_on_changed_inputs(tmp_path, inputs, change):
    root, sheet = inputs
    out = tmp_path / "out"
    with RunDir(out, "tool", inputs=input_digests(root, [sheet])) as run:
        run.write_text("stage.json", "{}")
        run.finish()
    alter, named = CHANGES[change]
    alter(root, sheet)
    with pytest.raises(RunDirError, match=f"cannot resume .*{named} since the run started; "
                                          "use --force"):
        RunDir(out, "tool", resume=True, inputs=input_digests(root, [sheet])).__enter__()
    with RunDir(out, "tool", force=True, inputs=input_digests(root, [sheet])) as run:
        run.finish()  # --force starts over on the data as it is now


def _one_error_line(capsys, tool):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{tool}: error: "), err
    return lines[0]


@pytest.mark.parametrize("change", CHANGES)
def test_fer_compare_resume_refuses_changed_inputs(tmp_path, capsys, monkeypatch, inputs, change):
    pytest.importorskip("torch")
    from resnet_fer import compare, compare_stages

    def interrupted(*args, **kwargs):  # Ctrl-C once the split stage was kept
        raise KeyboardInterrupt

    monkeypatch.setattr(compare_stages, "fit_model", interrupted)
    root, sheet = inputs
    argv = ["--quick", "--data", str(root), "--features", str(sheet), "--folds", "2",
            "--device", "cpu", "--no-progress", "--out", str(tmp_path / "out")]
    assert compare.main(argv) == 130
    assert compare.main([*argv, "--resume"]) == 130  # unchanged: it resumes
    capsys.readouterr()
    alter, named = CHANGES[change]
    alter(root, sheet)
    assert compare.main([*argv, "--resume"]) == 2
    line = _one_error_line(capsys, "fer-compare")
    assert re.search(named, line) and "--force" in line


@pytest.mark.parametrize("change", [c for c in CHANGES if c != "sheet edited"])
def test_resnet_fer_train_resume_refuses_changed_images(tmp_path, capsys, monkeypatch, inputs,
                                                       change):
    pytest.importorskip("torch")
    from resnet_fer import cli, train

    real = train.cross_validate

    def ctrl_c(info):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "cross_validate",
                        lambda *a, **kw: real(*a, **kw, callback=ctrl_c))
    root, sheet = inputs
    argv = ["train", "--device", "cpu", "--epochs", "2", "--size", "16", "--width", "8",
            "--stem", "small", "--folds", "2", "--batch-size", "8", "--no-progress",
            "--data", str(root), "--cache-dir", str(tmp_path / "cache"),
            "--out", str(tmp_path / "out")]
    assert cli.main(argv) == 130  # after the first epoch's checkpoint
    capsys.readouterr()
    alter, named = CHANGES[change]
    alter(root, sheet)
    assert cli.main([*argv, "--resume"]) == 2
    line = _one_error_line(capsys, "resnet-fer")
    assert re.search(named, line) and "--force" in line
