"""Shared fixtures.

Tests that need the real SFEW data look for it in ``$SFEW_DIR`` or in
``../shared/data/sfew`` (relative to the repository root) and skip, with the
reason, when it is absent. SFEW is research-licensed and never part of the repo.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def find_sfew_dir() -> Path | None:
    """The SFEW folder (holding ``SFEW.xlsx`` and ``images/``), or None."""
    candidates = []
    if os.environ.get("SFEW_DIR"):
        candidates.append(Path(os.environ["SFEW_DIR"]))
    candidates.append(REPO_ROOT.parent / "shared" / "data" / "sfew")
    for path in candidates:
        if (path / "SFEW.xlsx").is_file():
            return path
    return None


@pytest.fixture(scope="session")
def sfew_dir() -> Path:
    path = find_sfew_dir()
    if path is None:
        pytest.skip("SFEW data not found: set $SFEW_DIR or place it in ../shared/data/sfew")
    return path


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: one thread is fastest, and on a busy machine OpenMP threads stall."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
