"""fer-compare end to end on a tiny synthetic configuration: files, numbers, folds, resume."""
import json
import re

import numpy as np
import pytest

pytest.importorskip("torch")

from bpnet.results import CVResult  # noqa: E402
from resnet_fer import compare  # noqa: E402
from resnet_fer.report import compare_folds, diagnose  # noqa: E402

TINY = ["--quick", "--synthetic-per-class", "6", "--folds", "2", "--no-progress"]
# Template phrases that hold digits of their own (figure numbers, the model's name...)
TEMPLATE = [r"Fig\. \d", r"Tables 1-2", r"95 % interval", r"8 BasicBlocks", r"ResNet-18",
            r"\+-1 sd", r"\bfig\d_\w+\.png"]


def _json_numbers(node, out: set[str]) -> None:
    """Every way the report may print a number of results.json (and digits in its strings)."""
    if isinstance(node, dict):
        for v in node.values():
            _json_numbers(v, out)
    elif isinstance(node, list):
        for v in node:
            _json_numbers(v, out)
    elif isinstance(node, str):
        out.update(re.findall(r"\d+(?:\.\d+)?", node))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        for v in (node, -node):
            out.update({f"{v:g}", f"{v:.0f}", f"{v:.2f}", f"{v:.3f}", f"{100 * v:.1f}",
                        f"{v:.1%}".rstrip("%")})
            if float(v).is_integer():
                out.add(str(int(v)))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "run"
    assert compare.main([*TINY, "--out", str(out)]) == 0
    return out


def test_writes_every_file_and_a_self_contained_html(finished_run):
    names = {"results.json", "report.md", "report.html", "fig1_normalisation.png",
             "fig2_optimisers.png", "fig4_pruning.png", "fig5_loss.png", "fig6_accuracy.png",
             "confusion.png"}
    assert names <= {p.name for p in finished_run.iterdir()}
    page = (finished_run / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 6
    assert not re.search(r"<img[^>]+src=['\"](?!data:)", page)  # nothing to fetch: opens offline


def test_every_number_in_the_report_comes_from_results_json(finished_run):
    doc = json.loads((finished_run / "results.json").read_text())
    allowed: set[str] = set()
    _json_numbers(doc, allowed)
    text = (finished_run / "report.md").read_text()
    for phrase in TEMPLATE:
        text = re.sub(phrase, " ", text)
    numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
    assert numbers  # the report does print numbers
    unexplained = sorted({n for n in numbers if n not in allowed and n.lstrip("-") not in allowed})
    assert unexplained == []


def test_both_branches_scored_the_same_samples_in_every_fold(finished_run):
    doc = json.loads((finished_run / "results.json").read_text())
    bp, resnet = CVResult.from_dict(doc["bp"]), CVResult.from_dict(doc["resnet"])
    assert bp.sample_ids == resnet.sample_ids
    assert len(bp.folds) == len(resnet.folds) == 2
    for k, (a, b) in enumerate(zip(bp.folds, resnet.folds)):
        np.testing.assert_array_equal(a.test_idx, b.test_idx)
        assert [bp.sample_ids[i] for i in a.test_idx] == doc["splits"]["test_ids"][k]
    tested = np.concatenate([f.test_idx for f in bp.folds])
    assert sorted(tested.tolist()) == list(range(bp.n_samples))  # every sample exactly once


def test_a_finished_run_is_not_overwritten_and_resume_reuses_it(finished_run, capsys):
    before = (finished_run / "results.json").read_text()
    assert compare.main([*TINY, "--out", str(finished_run)]) == 2
    assert "finished fer-compare run; use --resume" in capsys.readouterr().err
    assert compare.main([*TINY, "--out", str(finished_run), "--resume"]) == 0
    out = capsys.readouterr().out
    for stage in ("bp", "bp_optimizers", "bp_wide_pruning", "resnet"):
        assert f"{stage}: reused" in out
    after = json.loads((finished_run / "results.json").read_text())
    assert after["bp"] == json.loads(before)["bp"]
    assert after["resnet"] == json.loads(before)["resnet"]
    # other settings are refused, not mixed into the old run
    assert compare.main([*TINY, "--out", str(finished_run), "--resume", "--seed", "1"]) == 2
    assert "other settings" in capsys.readouterr().err


def test_an_interrupted_resnet_stage_resumes_from_its_fold_checkpoints(tmp_path, capsys):
    out = tmp_path / "run"
    assert compare.main([*TINY, "--out", str(out)]) == 0
    (out / "stages" / "resnet.json").unlink()  # as if killed after the folds' checkpoints
    ckpt = sorted((out / "resnet" / "checkpoints").glob("fold*.pt"))
    assert len(ckpt) == 2
    stamp = [p.stat().st_mtime_ns for p in ckpt]
    assert compare.main([*TINY, "--out", str(out), "--resume"]) == 0
    assert [p.stat().st_mtime_ns for p in ckpt] == stamp  # finished folds were not retrained


def test_user_mistakes_get_one_line(tmp_path, capsys):
    assert compare.main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fer-compare: error: --data") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as stop:
        compare.main(["--folds", "1"])
    assert stop.value.code == 2
    capsys.readouterr()
    assert compare.main(["--preset", "cpu-aligned", "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fer-compare: error: --preset cpu-aligned") and err.count("\n") == 1


def test_the_recipe_follows_the_device_and_the_data():
    from resnet_fer.config import TrainConfig, get_preset

    recipe, why, preset = compare.resnet_recipe("cpu", synthetic=True, quick=False)
    assert preset is None and recipe["batch_size"] == 32 and "synthetic" in why
    assert compare.resnet_recipe("cuda", synthetic=True, quick=False)[0] == recipe
    recipe, why, preset = compare.resnet_recipe("cpu", synthetic=False, quick=False)
    assert preset == "cpu-aligned"
    assert TrainConfig.from_dict(recipe) == get_preset("cpu-aligned").train
    recipe, why, preset = compare.resnet_recipe("cpu", synthetic=False, quick=False,
                                                 preset="none")
    assert preset is None and recipe["size"] == 64 and "whole frames" in why
    assert compare.resnet_recipe("cuda", synthetic=False, quick=False)[:3:2] == ({}, None)
    assert compare.resnet_recipe("cuda", synthetic=False, quick=True)[0]["epochs"] == 2


def test_paired_comparison_and_diagnosis():
    res = compare_folds([0.2, 0.25, 0.22, 0.3, 0.28], [0.3, 0.33, 0.35, 0.31, 0.38])
    assert res["mean_difference"] == pytest.approx(0.084)
    lo, hi = res["ci95"]
    assert lo < 0.084 < hi and lo > 0  # every fold favours the second model
    assert res["wilcoxon_p"] == pytest.approx(0.0625)  # the smallest p five pairs can give
    flat = np.full((10, 2), 1.0)
    assert diagnose({"train_accuracy_mean": 0.95, "test_accuracy_mean": 0.3},
                    {"test_loss": flat}, 1 / 7)["verdict"] == "over-fitting"
    assert diagnose({"train_accuracy_mean": 0.35, "test_accuracy_mean": 0.3},
                    {"test_loss": flat}, 1 / 7)["verdict"] == "under-fitting"
    rising = np.linspace(1, 2, 20)[:, None] * np.ones((1, 2))
    rising[:5] = 1.5
    assert "over-fitting" in diagnose({"train_accuracy_mean": 0.7, "test_accuracy_mean": 0.65},
                                      {"test_loss": rising}, 1 / 7)["verdict"]
