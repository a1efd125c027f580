"""The house rules: layer contracts (import-linter) and the linter (ruff) hold on the code.

Both tools are in the ``test`` extra, so these run wherever the suite runs; the contracts
themselves live in setup.cfg and are explained in docs/architecture.rst.
"""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=REPO, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept():
    # the console script installed beside this interpreter (the test extra's import-linter)
    lint_imports = str(Path(sys.executable).parent / "lint-imports")
    done = _run(lint_imports, "--no-cache", "--no-logo", "setup.cfg")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_ruff_finds_nothing():
    done = _run(sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
