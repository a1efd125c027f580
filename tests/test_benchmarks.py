"""The benchmark scripts still run against the current API (their --quick mode, seconds).

They are scripts, not part of the package, so nothing else would notice when a rename
breaks one; this checks that each prints its JSON lines with the fields its docs quote. It
measures nothing: speed claims come from full runs (docs/speed.rst), never from tests.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
KFOLD = {"a_bpnet_float32", "b_bpnet_float64", "c_torch_float32", "c_torch_float64",
         "d_sklearn_float64", "d_sklearn_float32", "e_torch_batched_float32"}


def _json_lines(*argv: str) -> list[dict]:
    run = subprocess.run([sys.executable, *argv], cwd=BENCH.parent, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def _machine_fields(line: dict) -> None:
    """The kernel (threadpoolctl) and the load: what a figure needs to be read fairly."""
    assert line["numpy_blas"] and all(b["num_threads"] == 1 for b in line["numpy_blas"])
    assert isinstance(line["blas_kernel"], str) and "OPENBLAS_CORETYPE" in line["openblas_env"]
    assert len(line["load_average_at_start"]) == 3


def _check_kfold(line: dict, contenders: set) -> None:
    assert set(line["seconds"]) == contenders
    assert line["ratio_to_a"]["a_bpnet_float32"] == 1.0
    ratio = line["seconds"]["e_torch_batched_float32"] / line["seconds"]["a_bpnet_float32"]
    assert line["batched_torch_over_a"] == pytest.approx(ratio, rel=0.02, abs=0.01)
    assert all(0 <= acc <= 1 for acc in line["mean_test_accuracy"].values())
    # the batched program trains the same networks as the loop: the same test accuracy,
    # up to float32 summation order
    acc = line["mean_test_accuracy"]
    assert acc["e_torch_batched_float32"] == pytest.approx(acc["c_torch_float32"], abs=0.01)
    roof = line["roofline"]
    # 20 folds x 675 rows x 100 epochs, 2 flops per multiply-add of the five products
    per_row = 2 * (2 * 32 * 11 + 2 * 7 * 33 + 32 * 7)
    assert roof["flops"] == per_row * 20 * 675 * 100
    assert roof["bpnet_over_floor"] == pytest.approx(roof["bpnet_seconds"] / roof["floor_seconds"],
                                                     rel=0.02)
    assert roof["floor_seconds"] > 0 and roof["gemm_gflops_same_shapes"] > 0
    _machine_fields(line)


def test_bench_kfold_quick():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    (line,) = _json_lines("benchmarks/bench_kfold.py", "--quick", "--no-compile")
    _check_kfold(line, KFOLD)


@pytest.mark.slow
def test_bench_kfold_quick_with_torch_compile():
    """(f) compiles for about half a minute: slow."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    (line,) = _json_lines("benchmarks/bench_kfold.py", "--quick")
    _check_kfold(line, KFOLD | {"f_torch_compiled_float32"})
    assert line["compile_seconds_f"] > 0
    acc = line["mean_test_accuracy"]
    assert acc["f_torch_compiled_float32"] == pytest.approx(acc["e_torch_batched_float32"], abs=0.01)


def test_bench_tune_quick():
    pytest.importorskip("sklearn")
    (line,) = _json_lines("benchmarks/bench_tune.py", "--quick")
    assert line["bench"] == "tune" and line["seconds"]["bpnet"] > 0
    assert line["precision"] == {"bpnet": "float32", "sklearn": "float32",
                                 "sklearn_float64": "float64"}
    # the line rounds each speed-up to 0.1 and each time to 1 ms
    for key, side in (("speedup", "sklearn"), ("speedup_float64", "sklearn_float64")):
        ratio = line["seconds"][side] / line["seconds"]["bpnet"]
        assert line[key] == pytest.approx(ratio, rel=0.02, abs=0.06)
    _machine_fields(line)


def test_bench_step_quick():
    pytest.importorskip("torch")
    (line,) = _json_lines("benchmarks/bench_step.py", "--quick")
    assert line["bench"] == "step" and line["n_hidden"] == 32
    for path in ("fused", "train", "readable"):
        ratio = line[f"bpnet_{path}_us"] / line["torch_us"]
        assert line[f"ratio_{path}_over_torch"] == pytest.approx(ratio, rel=0.01)
    # the claim states what was measured, whichever way it came out
    verdict = "faster than" if line["ratio_fused_over_torch"] < 1 else "slower than"
    assert f"{line['ratio_fused_over_torch']:.2f}x PyTorch's time ({verdict}" in line["claim"]


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
