"""The benchmark scripts still run against the current API (their --quick mode, a few seconds).

They are scripts, not part of the package, so nothing else would notice when a rename
breaks one; this checks that each prints its JSON line with the fields its docs quote. It
measures nothing: speed claims come from full runs (docs/speed.rst), never from tests.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _json_lines(*argv: str) -> list[dict]:
    run = subprocess.run([sys.executable, *argv], cwd=BENCH.parent, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def test_bench_kfold_quick():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    (line,) = _json_lines("benchmarks/bench_kfold.py", "--quick")
    assert set(line["seconds"]) == {"a_bpnet_float32", "b_bpnet_float64", "c_torch_float32",
                                    "c_torch_float64", "d_sklearn_float64"}
    assert line["ratio_to_a"]["a_bpnet_float32"] == 1.0
    assert all(0 <= acc <= 1 for acc in line["mean_test_accuracy"].values())
    assert "blas" in json.dumps(line).lower()


def test_bench_tune_quick():
    pytest.importorskip("sklearn")
    (line,) = _json_lines("benchmarks/bench_tune.py", "--quick")
    assert line["bench"] == "tune" and line["seconds"]["bpnet"] > 0
    # the line rounds the speed-up to 0.1 and each time to 1 ms
    ratio = line["seconds"]["sklearn"] / line["seconds"]["bpnet"]
    assert line["speedup"] == pytest.approx(ratio, rel=0.02, abs=0.06)


def test_run_contenders_quick_on_the_synthetic_faces(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("SFEW_DIR", str(tmp_path))  # no images there: the synthetic faces
    lines = _json_lines("benchmarks/run_contenders.py", "--quick", "--folds", "3",
                        "--models", "bp-tuned", "linear-descriptors")
    assert lines[0]["model"].startswith("(descriptors")
    assert [line["model"] for line in lines[1:]] == ["bp-tuned", "linear-descriptors"]
    for line in lines[1:]:
        assert len(line["fold_accuracies"]) == 3 and line["split"] == "group"
        low, high = line["ci95_corrected"]
        assert low <= line["accuracy_mean"] <= high
