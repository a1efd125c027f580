"""The bpnet command line and the package's import hygiene."""
import subprocess
import sys

import pytest

from bpnet import cli, selfcheck


def test_check_without_torch_passes(capsys):
    assert cli.main(["check", "--no-torch"]) == 0
    out = capsys.readouterr().out
    assert "finite-difference checks only" in out
    assert "30 passed, 0 failed" in out


def test_check_with_torch_reports_every_combination(capsys):
    pytest.importorskip("torch")
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    for name in ("sigmoid/sigmoid/mse", "relu/softmax/cross_entropy x3", "adamw(", "nesterov=True"):
        assert name in out
    assert "35 passed, 0 failed" in out and "FAIL" not in out


def test_a_failing_row_fails_the_report():
    row = selfcheck.CheckRow("x", {"gradcheck": 1e-3, "torch forward": None})
    assert not row.passed
    assert "FAIL" in selfcheck.format_report([row])


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "bpnet.cli", "--help"], capture_output=True,
                            text=True, check=True)
    assert "check" in result.stdout


def test_import_bpnet_pulls_in_neither_torch_nor_sklearn():
    code = ("import sys, bpnet, bpnet.cli, bpnet.selfcheck; "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
