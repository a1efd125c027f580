"""``fer-compare --save-models`` and ``resnet-fer train --final``: models and cards in <out>/models."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from bpnet.comparison import ComparisonResult  # noqa: E402
from bpnet.data.synthetic import synthetic_faces  # noqa: E402
from resnet_fer import compare, model_card  # noqa: E402
from resnet_fer.cli import main as resnet_main  # noqa: E402
from resnet_fer.config import DataConfig  # noqa: E402
from resnet_fer.predictor import Predictor, load_model  # noqa: E402


def _card_checks(text: str, interval, n_folds: int, class_names) -> None:
    mean, low, high = interval
    assert 0 <= mean <= 1 and low <= mean <= high
    assert f"{mean:.1%} (95 % interval over the {n_folds} folds, Nadeau-Bengio corrected for " \
           f"their overlapping training rows: {low:.1%} to {high:.1%}" in text
    for i, name in enumerate(class_names):
        assert f"{i}. {name}" in text
    for heading in ("**Data**", "**Date**", "## Recipe", "## Versions", "bpnet-fer"):
        assert heading in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text)


def test_fer_compare_save_models_refits_both_recipes(tmp_path, one_torch_thread, capsys):
    out = tmp_path / "run"
    assert compare.main(["--quick", "--synthetic-per-class", "6", "--folds", "2",
                         "--no-progress", "--save-models", "--out", str(out)]) == 0
    models = out / "models"
    assert sorted(p.name for p in models.iterdir()) == ["bp.md", "bp.npz", "resnet.md",
                                                         "resnet.safetensors"]
    res = ComparisonResult.from_json(out / "results.json")
    names = list(res.data.class_names)
    for kind, stem in (("bp-paper", "bp"), ("resnet18", "resnet")):
        # the card's interval is the report's leaderboard interval (the corrected one)
        interval = next(m.metric("accuracy") for m in res.statistics.metrics if m.model == kind)
        assert model_card.cv_interval(res.model(kind).result) == pytest.approx(interval)
        _card_checks((models / f"{stem}.md").read_text(), interval, 2, names)
    faces = synthetic_faces(n_per_class=1, size=64, seed=11).images
    for name in ("bp.npz", "resnet.safetensors"):
        probs = load_model(models / name, names).predict_proba(faces)
        assert probs.shape == (7, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)
    bp = load_model(models / "bp.npz").model
    recipe = res.model("bp-paper").recipe
    assert bp.net.n_hidden <= recipe["n_hidden"]  # pruned, or not, as in CV
    assert bp.info["recipe"]["epochs"] == recipe["epochs"]
    marker = json.loads((out / ".run.json").read_text())
    assert "models" in marker["files"]  # so --force removes the models with the run


def test_resnet_fer_train_final_writes_a_model_and_card(tmp_path, one_torch_thread, capsys):
    out = tmp_path / "run"
    assert resnet_main(["train", "--final", "--synthetic-per-class", "3", "--folds", "2",
                        "--epochs", "1", "--size", "32", "--stem", "small", "--width", "8",
                        "--batch-size", "8", "--no-progress", "--out", str(out)]) == 0
    assert "models/resnet.safetensors" in capsys.readouterr().out
    result = json.loads((out / "results.json").read_text())
    card = (out / "models" / "resnet.md").read_text()
    accs = np.array(result["summary"]["fold_test_accuracy"])
    # corrected resampled t (Nadeau-Bengio): 21 images in 2 folds, so on average 10.5 test and
    # 10.5 training rows per fold (n_test / n_train = 1), 1 degree of freedom
    half = stats.t.ppf(0.975, 1) * accs.std(ddof=1) * np.sqrt(1 / 2 + 10.5 / 10.5)
    _card_checks(card, (accs.mean(), accs.mean() - half, accs.mean() + half), 2,
                 result["class_names"])
    model = load_model(out / "models" / "resnet.safetensors").model
    assert model.config.epochs == 1 and model.data.face_crop == "none"


def test_a_face_cropping_model_reports_the_box_it_used(tmp_path):
    from resnet_fer.config import TrainConfig
    from resnet_fer.model_file import ResNetModel
    from resnet_fer.train import build_model

    config = TrainConfig(size=32, stem="small", width=8)
    model = ResNetModel(build_model(config, 3).eval(), config,
                        DataConfig(face_crop="haar", decode_size=32), ("a", "b", "c"))
    path = model.save(tmp_path / "m.pt")
    blank = np.full((60, 80, 3), 127, np.uint8)  # no face: the centre square, face_found False
    pred = load_model(path).predict([blank])[0]
    assert pred.face_found is False and pred.box == (10, 0, 60, 60)
    assert np.array_equal(load_model(path).predict_proba([blank]),
                          Predictor(model).predict_proba([blank]))


@pytest.mark.parametrize("argv", [["--models", "linear-descriptors,bp-tuned"],
                                  ["--models", "bp-paper", "--features", "sheet.csv"]],
                         ids=["no-savable-model", "bp-on-a-sheet"])
def test_save_models_with_nothing_to_save_is_refused_before_any_work(argv, tmp_path, capsys):
    out = tmp_path / "run"
    assert compare.main(["--quick", "--no-progress", "--save-models", "--out", str(out),
                         *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fer-compare: error: --save-models saves "
                                               "bp-paper (not with --features) and resnet18")
    assert not out.exists()  # refused before the output folder was opened
