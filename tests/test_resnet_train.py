"""resnet_fer.train: cross-validation, exact resume, non-finite stop, the command line.

Tiny images (16 px), a narrow net (width 4, small stem) and 2 epochs keep every test fast.
"""
import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bpnet.splits import stratified_kfold  # noqa: E402
from resnet_fer import cli, engine  # noqa: E402
from resnet_fer.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from resnet_fer.config import AugmentConfig, TrainConfig  # noqa: E402
from resnet_fer.data import synthetic_images  # noqa: E402
from resnet_fer.engine import lr_factor  # noqa: E402
from resnet_fer.train import NonFiniteLossError, cross_validate  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


TINY = TrainConfig(epochs=2, batch_size=8, size=16, width=4, stem="small", dropout=0.2)


@pytest.fixture(scope="module")
def tiny():
    data = synthetic_images(n_per_class=4, size=16, seed=0)
    return data.images, data.y, stratified_kfold(data.y, n_splits=2, seed=0)


def _weights(path):
    return load_checkpoint(path)["model"]


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_cross_validate_returns_folds_curves_and_the_table(tiny):
    images, y, splits = tiny
    result = cross_validate(images, y, splits, TINY, "cpu", progress=False)
    assert len(result.folds) == 2 and result.confusions.shape == (2, 7, 7)
    assert result.confusions.sum() == len(y)
    for fold, (_, te) in zip(result.folds, splits):
        assert np.array_equal(fold.test_idx, te) and fold.scores.shape == (len(te), 7)
        np.testing.assert_allclose(fold.scores.sum(1), 1, rtol=1e-5)
        assert all(len(v) == 2 for v in fold.curves.values())
    assert (result.y_pred >= 0).all() and len(result.predictions()) == len(y)
    report = result.report()
    assert "Surprise" in report and "accuracy over 2 folds" in report
    assert set(result.summary()) >= {"test_accuracy_mean", "test_accuracy_std", "macro",
                                     "train_accuracy_mean"}


def test_leaves_the_global_rng_alone_and_is_deterministic(tiny):
    images, y, splits = tiny
    before = torch.get_rng_state()
    a = cross_validate(images, y, splits[:1], TINY, "cpu", progress=False)
    assert torch.equal(before, torch.get_rng_state())
    b = cross_validate(images, y, splits[:1], TINY, "cpu", progress=False)
    assert a.folds[0].curves == b.folds[0].curves


def test_resumed_run_ends_with_exactly_the_uninterrupted_weights(tiny, tmp_path):
    images, y, splits = tiny
    full = cross_validate(images, y, splits, TINY, "cpu", progress=False, out_dir=tmp_path / "full")

    class Killed(Exception):
        pass

    def kill_after_first_epoch_of_fold_2(info):
        if info.fold == 1 and info.epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        cross_validate(images, y, splits, TINY, "cpu", progress=False, out_dir=tmp_path / "cut",
                       callback=kill_after_first_epoch_of_fold_2)
    assert load_checkpoint(tmp_path / "cut/checkpoints/fold1.pt")["epoch"] == 1
    resumed = cross_validate(images, y, splits, TINY, "cpu", progress=False,
                             out_dir=tmp_path / "cut", resume=True)
    for k in range(2):
        _assert_same_weights(_weights(tmp_path / f"full/checkpoints/fold{k}.pt"),
                             _weights(tmp_path / f"cut/checkpoints/fold{k}.pt"))
        assert full.folds[k].curves == resumed.folds[k].curves
        assert np.array_equal(full.folds[k].y_pred, resumed.folds[k].y_pred)


def test_resume_with_other_settings_is_refused(tiny, tmp_path):
    images, y, splits = tiny
    cross_validate(images, y, splits[:1], TINY, "cpu", progress=False, out_dir=tmp_path)
    other = dataclasses.replace(TINY, lr=1e-2)
    with pytest.raises(ValueError, match="lr"):
        cross_validate(images, y, splits[:1], other, "cpu", progress=False, out_dir=tmp_path,
                       resume=True)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny, tmp_path, monkeypatch):
    images, y, splits = tiny
    calls = {"n": 0}
    real = engine.soft_cross_entropy
    steps_per_epoch = len(splits[0][0]) // TINY.batch_size

    def poisoned(logits, *args):
        calls["n"] += 1
        loss = real(logits, *args)
        return loss * float("nan") if calls["n"] > steps_per_epoch else loss

    monkeypatch.setattr(engine, "soft_cross_entropy", poisoned)
    with pytest.raises(NonFiniteLossError, match="last good checkpoint") as err:
        cross_validate(images, y, splits[:1], TINY, "cpu", progress=False, out_dir=tmp_path)
    assert "epoch 2" in str(err.value)
    state = load_checkpoint(tmp_path / "checkpoints/fold0.pt")
    assert state["epoch"] == 1 and not state["done"]
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_checkpoints_are_atomic_and_weights_only(tmp_path):
    path = save_checkpoint({"w": torch.ones(2), "history": {"a": [1.0]}}, tmp_path / "c.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    assert torch.equal(load_checkpoint(path)["w"], torch.ones(2))
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="c.pt"):
        load_checkpoint(path)


def test_options_class_weights_cosine_no_mixing_and_streaming(tiny):
    images, y, splits = tiny
    cfg = dataclasses.replace(TINY, class_weights=True, schedule="cosine",
                              augment=AugmentConfig(mixup=0, cutmix=0))
    resident = cross_validate(images, y, splits[:1], cfg, "cpu", progress=False)
    streamed = cross_validate(images, y, splits[:1], dataclasses.replace(cfg, memory_budget=0), "cpu",
                              progress=False)
    assert resident.folds[0].curves == streamed.folds[0].curves


def test_lr_schedules_warm_up_then_anneal():
    for schedule in ("onecycle", "cosine"):
        f = [lr_factor(s, 100, schedule, 0.2) for s in range(100)]
        assert np.all(np.diff(f[:20]) > 0) and np.all(np.diff(f[20:]) <= 0)
        assert max(f) == pytest.approx(1.0) and f[-1] < 0.01


def test_config_round_trips_through_a_dict():
    cfg = TrainConfig(augment=AugmentConfig(scale=(0.5, 1.0)), size=112, stem="small")
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize("split", ["stratified", "group"])
def test_command_line_train_on_synthetic_faces(tmp_path, split, capsys):
    args = ["train", "--device", "cpu", "--epochs", "1", "--size", "16", "--width", "4",
            "--stem", "small", "--synthetic-per-class", "3", "--folds", "2", "--batch-size", "8",
            "--split", split, "--out", str(tmp_path), "--no-progress"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    summary = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    assert summary["folds"] == 2 and summary["split"] == split
    assert (tmp_path / "results.json").is_file() and (tmp_path / "curves.png").is_file()
    assert cli.main(args + ["--resume"]) == 0  # everything done: read back from checkpoints


def test_command_line_reports_errors_cleanly(tmp_path, capsys):
    assert cli.main(["train", "--device", "cpu", "--data", str(tmp_path / "missing"),
                     "--no-progress"]) == 2
    assert "not found" in capsys.readouterr().err
