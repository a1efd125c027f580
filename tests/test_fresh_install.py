"""What a new user meets first: the main command's errors, its smoke mode, threads and time claim."""
import re
from pathlib import Path

import pytest

pytest.importorskip("torch")

from resnet_fer import compare  # noqa: E402
from resnet_fer.report import SMOKE_RUN  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"
TINY = ["--quick", "--synthetic-per-class", "6", "--folds", "2", "--no-progress"]


@pytest.mark.parametrize("missing, hint", [("torch", True), ("torchvision.ops", True),
                                           ("cv2", True), ("bpnet.data", False),
                                           ("safetensors", False)])
def test_import_errors_name_the_module_and_blame_the_extra_only_for_torch(
        missing, hint, monkeypatch, capsys, tmp_path):
    def broken(args):
        raise ModuleNotFoundError(f"No module named '{missing}'", name=missing)

    monkeypatch.setattr(compare, "run_comparison", broken)
    assert compare.main(["--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fer-compare: error: ")
    assert f"No module named '{missing}'" in err[0]
    assert ("'torch' extra" in err[0]) == hint


def test_quick_report_opens_as_a_smoke_run_and_draws_no_conclusion(tmp_path, capsys):
    out = tmp_path / "run"
    assert compare.main([*TINY, "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert text.splitlines()[0] == SMOKE_RUN
    assert "mean nothing" in SMOKE_RUN
    assert "more accurate by" not in text
    assert "smoke run, not a result" in capsys.readouterr().out


def test_default_threads_is_one_unless_the_environment_says(monkeypatch):
    import torch

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert compare.default_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert compare.default_threads() == torch.get_num_threads()


def test_run_uses_the_default_threads(tmp_path, monkeypatch):
    import torch

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    seen = []
    monkeypatch.setattr(torch, "set_num_threads", seen.append)  # records, sets nothing
    assert compare.main([*TINY, "--out", str(tmp_path / "r")]) == 0
    assert seen[0] == 1
    assert torch.get_num_threads() == before


def _minutes_or_seconds(text: str) -> float:
    value, unit = re.match(r"([\d.]+)\s*(s|min)", text).groups()
    return float(value) * (60 if unit == "min" else 1)


def test_readme_time_claim_and_banner_agree_with_the_measured_figures():
    idle, busy = compare.MEASURED_SECONDS["default"]
    readme = README.read_text()
    claim = re.search(r"(\d+) s measured on 2 idle cores.*?(\d+) s with another\s+process\s+"
                      r"busy\s+on\s+every\s+core", readme, flags=re.S)
    assert claim, "README's quick start states no idle and busy time"
    assert (float(claim.group(1)), float(claim.group(2))) == (round(idle), round(busy))
    banner = compare.expected_time("cpu", synthetic=True, quick=False, folds=5)
    shown = re.findall(r"(\d+ (?:s|min))", banner)
    assert [_minutes_or_seconds(t) for t in shown] == pytest.approx([idle, busy], abs=30)
    assert compare.expected_time("cuda", synthetic=True, quick=False, folds=5) is None


def test_blas_gets_the_same_threads_as_torch_during_a_run():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return {p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"}

    if not blas_threads():
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl here")
    before = blas_threads()
    with compare.blas_threads(1):
        assert blas_threads() == {1}
    assert blas_threads() == before  # restored after the run
