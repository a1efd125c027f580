"""The recipe's extra parts: EMA of weights, test-time augmentation, stochastic depth, seed
averaging, and named presets (Python and the command line)."""
import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bpnet.results import CVResult  # noqa: E402
from bpnet.splits import stratified_kfold  # noqa: E402
from resnet_fer import cli  # noqa: E402
from resnet_fer.augment import normalize  # noqa: E402
from resnet_fer.checkpoint import load_checkpoint  # noqa: E402
from resnet_fer.config import PRESETS, DataConfig, TrainConfig, get_preset  # noqa: E402
from resnet_fer.data import ImageStore, synthetic_images  # noqa: E402
from resnet_fer.engine import Engine, WeightEMA, tta_views  # noqa: E402
from resnet_fer.model import BasicBlock, drop_path, resnet18  # noqa: E402
from resnet_fer.train import cross_validate  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = TrainConfig(epochs=2, batch_size=8, size=16, width=4, stem="small", dropout=0.0)
EXTRAS = dataclasses.replace(TINY, ema=0.9, drop_path=0.2, tta="crops")


@pytest.fixture(scope="module")
def tiny():
    data = synthetic_images(n_per_class=4, size=16, seed=0)
    return data.images, data.y, stratified_kfold(data.y, n_splits=2, seed=0)


def test_ema_follows_the_formula_and_restores_the_raw_weights():
    model = torch.nn.Linear(3, 2)
    ema = WeightEMA(model, decay=0.5)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)  # step 0: d = min(0.5, 1 / 10) = 0.1
    torch.testing.assert_close(ema.shadow["weight"], 0.1 * start["weight"] + 0.9 * model.weight)
    raw = model.weight.detach().clone()
    with ema.applied(model):
        torch.testing.assert_close(model.weight, ema.shadow["weight"])
    assert torch.equal(model.weight, raw)
    again = WeightEMA(model, decay=0.5)
    again.load_state_dict(ema.state_dict())
    assert again.steps == 1 and torch.equal(again.shadow["weight"], ema.shadow["weight"])


def test_ema_also_averages_batchnorm_statistics():
    model = torch.nn.BatchNorm1d(2)
    ema = WeightEMA(model, decay=0.9)
    model.train()
    model(torch.randn(8, 2) + 5.0)
    ema.update(model)
    assert 0 < ema.shadow["running_mean"].mean() < model.running_mean.mean()
    assert ema.shadow["num_batches_tracked"] == 1


def test_tta_views_and_their_average():
    x = torch.randn(2, 3, 20, 20)
    assert len(tta_views(x, "none")) == 1 and len(tta_views(x, "flip")) == 2
    views = tta_views(x, "crops")
    assert len(views) == 4 and all(v.shape == x.shape for v in views)
    assert torch.equal(views[1], x.flip(3)) and torch.equal(views[3], views[2].flip(3))
    with pytest.raises(ValueError, match="tta"):
        tta_views(x, "rotate")


@pytest.mark.parametrize("mode", ["flip", "crops"])
def test_tta_prediction_is_the_mean_softmax_of_the_views(mode):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (6, 16, 16, 3), dtype=torch.uint8)
    model = resnet18(width=4, stem="small").eval()
    cfg = dataclasses.replace(TINY, tta=mode)
    engine = Engine(model, ImageStore(images, np.zeros(6), "cpu"), cfg, 7)
    got = torch.softmax(engine.predict(np.arange(6)), 1)
    model.eval()  # predict() leaves the model in training mode
    with torch.no_grad():
        x = normalize(images, 16, channels_last=False)
        want = torch.stack([torch.softmax(model(v), 1) for v in tta_views(x, mode)]).mean(0)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    plain = Engine(model, ImageStore(images, np.zeros(6), "cpu"), TINY, 7).predict(np.arange(6))
    assert not torch.allclose(torch.softmax(plain, 1), got)


def test_drop_path_keeps_the_expectation_and_is_off_in_eval():
    x = torch.ones(4000, 1, 2, 2)
    torch.manual_seed(0)
    out = drop_path(x, 0.3, training=True)
    np.testing.assert_allclose(out.unique().numpy(), [0.0, 1 / 0.7], rtol=1e-6)
    assert out.mean().item() == pytest.approx(1.0, abs=0.05)
    assert drop_path(x, 0.3, training=False) is x


def test_stochastic_depth_rates_grow_linearly_and_add_no_parameters():
    model = resnet18(width=4, drop_path=0.35)
    rates = [m.drop_path for m in model.modules() if isinstance(m, BasicBlock)]
    np.testing.assert_allclose(rates, np.linspace(0, 0.35, 8))
    assert model.state_dict().keys() == resnet18(width=4).state_dict().keys()
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        plain = resnet18(width=4).eval()
        plain.load_state_dict(model.state_dict())
        torch.testing.assert_close(model(x), plain(x))


def test_ema_drop_path_and_tta_resume_exactly(tiny, tmp_path):
    images, y, splits = tiny
    full = cross_validate(images, y, splits, EXTRAS, "cpu", progress=False, out_dir=tmp_path / "a")

    class Killed(Exception):
        pass

    def kill(info):
        if info.fold == 1 and info.epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        cross_validate(images, y, splits, EXTRAS, "cpu", progress=False, out_dir=tmp_path / "b",
                       callback=kill)
    resumed = cross_validate(images, y, splits, EXTRAS, "cpu", progress=False,
                             out_dir=tmp_path / "b", resume=True)
    for k in range(2):
        a, b = (load_checkpoint(tmp_path / d / f"checkpoints/fold{k}.pt") for d in "ab")
        for name in a["ema"]["shadow"]:
            assert torch.equal(a["ema"]["shadow"][name], b["ema"]["shadow"][name]), name
        assert full.folds[k].curves == resumed.folds[k].curves
        np.testing.assert_array_equal(full.folds[k].scores, resumed.folds[k].scores)


def test_averaging_seeds_averages_the_softmax_outputs(tiny):
    images, y, splits = tiny
    runs = [cross_validate(images, y, splits, dataclasses.replace(TINY, seed=s), "cpu",
                           progress=False) for s in (0, 1)]
    avg = CVResult.ensemble(runs)
    for k, fold in enumerate(avg.folds):
        mean = (runs[0].folds[k].scores + runs[1].folds[k].scores) / 2
        np.testing.assert_allclose(fold.scores, mean, rtol=1e-6)
        assert np.array_equal(fold.y_pred, fold.scores.argmax(1))
        assert fold.confusion(7).sum() == len(fold.test_idx)
    assert avg.settings["ensemble_seeds"] == [0, 1]
    other = cross_validate(images, y, stratified_kfold(y, n_splits=2, seed=5), TINY, "cpu",
                           progress=False)
    with pytest.raises(ValueError, match="same splits"):
        CVResult.ensemble([runs[0], other])


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_round_trips_through_the_command_line(name):
    preset = get_preset(name)
    args = cli.parse_args(["train", "--preset", name, "--device", "cpu"])
    assert cli._config(args) == preset.train
    assert cli._data_config(args) == preset.data
    assert TrainConfig.from_dict(json.loads(json.dumps(preset.train.to_dict()))) == preset.train
    override = cli.parse_args(["train", "--preset", name, "--epochs", "3", "--tta", "none"])
    assert cli._config(override) == dataclasses.replace(preset.train, epochs=3, tta="none")


def test_unknown_preset_and_bad_settings_are_one_line_errors(capsys):
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        get_preset("nope")
    with pytest.raises(SystemExit):
        cli.parse_args(["train", "--preset", "nope"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(ValueError, match="tta"):
        TrainConfig(tta="sideways")
    with pytest.raises(ValueError, match="face_crop"):
        DataConfig(face_crop="sideways")


def test_command_line_with_ema_tta_drop_path_and_two_seeds(tmp_path, capsys):
    args = ["train", "--device", "cpu", "--epochs", "1", "--size", "16", "--width", "4",
            "--stem", "small", "--synthetic-per-class", "3", "--folds", "2", "--batch-size", "8",
            "--ema", "0.9", "--tta", "flip", "--drop-path", "0.1", "--seeds", "2",
            "--out", str(tmp_path), "--no-progress"]
    assert cli.main(args) == 0
    summary = json.loads([ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")][-1])
    assert summary["seeds"] == 2 and summary["folds"] == 2
    assert (tmp_path / "seed0/checkpoints/fold1.pt").is_file()
    assert (tmp_path / "seed1/checkpoints/fold1.pt").is_file()
    config = json.loads((tmp_path / "results.json").read_text())["settings"]
    assert config["ema"] == 0.9 and config["tta"] == "flip" and config["ensemble_seeds"] == [0, 1]
