"""The documentation builds: every cross-reference resolves and every gallery example runs.

CI runs this (``.ci/run`` runs the whole suite). The build works on a copy of ``docs/`` in a
temporary folder, so sphinx-gallery's generated pages never land in the source tree.
"""
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
EXAMPLES = sorted(p.stem for p in (DOCS / "examples").glob("*.py"))


def source_files() -> dict[str, int]:
    """Every file under docs/ with its modification time (in ns)."""
    return {str(p.relative_to(DOCS)): p.stat().st_mtime_ns for p in DOCS.rglob("*") if p.is_file()}


def test_reexported_names_resolve_to_their_definitions():
    conf = runpy.run_path(str(DOCS / "conf.py"))
    defining = conf["_defining_name"]
    assert defining("bpnet.BPNetwork", None) == "bpnet.network.BPNetwork"
    assert defining("bpnet.BPNetwork.loss_and_grads", None) == \
        "bpnet.network.BPNetwork.loss_and_grads"
    assert defining("bpnet.cross_validate", None) == "bpnet.kfold.cross_validate"
    assert defining("DistinctivenessPruner.prune", "bpnet.prune_retrain") == \
        "bpnet.pruning.DistinctivenessPruner.prune"
    assert defining("bpnet.network.BPNetwork", None) is None  # already where it is defined
    assert defining("numpy.ndarray", None) is None  # not ours
    assert defining("bpnet.no_such_name", None) is None


@pytest.mark.slow
def test_docs_build_nitpicky_with_every_example_run(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx_gallery")
    pytest.importorskip("torch")  # the BP-vs-ResNet example trains a ResNet
    before = source_files()
    src = tmp_path / "docs"
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns(
        "_build", "auto_examples", "sg_execution_times.rst", "__pycache__"))
    env = {**os.environ, "BPNET_FER_ROOT": str(REPO_ROOT), "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-n", "-W", "--keep-going", "-q", "-b", "html",
         str(src), str(tmp_path / "html"), "-d", str(tmp_path / "doctrees")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"sphinx-build -n -W failed:\n{result.stderr[-6000:]}"

    gallery = src / "auto_examples"
    for name in EXAMPLES:
        assert (tmp_path / "html" / "auto_examples" / f"{name}.html").is_file(), name
        figures = list((gallery / "images").glob(f"sphx_glr_{name}_*.png"))
        assert figures, f"example {name} rendered no figure"
    # the run times sphinx-gallery measured, one per example (shown with pytest -s)
    times = dict(re.findall(r":ref:`sphx_glr_auto_examples_(\w+)\.py`.*?\n\s+- (\d\d:\d\d\.\d+)",
                            (gallery / "sg_execution_times.rst").read_text()))
    print("gallery run times (mm:ss):", times)
    assert sorted(times) == EXAMPLES
    assert source_files() == before  # the build wrote nothing into the source tree
