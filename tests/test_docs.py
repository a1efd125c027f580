"""The documentation builds: every cross-reference resolves and every gallery example runs.

It also works offline (no remote script or style sheet; MathJax bundled), and the course
material is consistent: every example states objective, prerequisites and time, and the
course page's labs add up to 90 minutes of the times the examples and exercises state.

CI runs this (``.ci/run`` runs the whole suite). The build works on a copy of ``docs/`` in a
temporary folder, so sphinx-gallery's generated pages never land in the source tree.
"""
import ast
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


def example_fields(name: str) -> dict[str, str]:
    """The ``:Objective:``, ``:Prerequisites:`` and ``:Time:`` fields of an example's docstring."""
    doc = ast.get_docstring(ast.parse((DOCS / "examples" / f"{name}.py").read_text()))
    return dict(re.findall(r"^:(\w+): (.*(?:\n    .*)*)", doc, flags=re.M))


def minutes(text: str) -> int:
    return int(re.match(r"(\d+) minutes", text).group(1))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_states_objective_prerequisites_and_time(name):
    fields = example_fields(name)
    assert {"Objective", "Prerequisites", "Time"} <= set(fields), name
    assert 0 < minutes(fields["Time"]) <= 30


def course_tables() -> dict[str, list[tuple[int, str]]]:
    """Each section of docs/course.rst that holds a table: its rows as (minutes, material)."""
    text = (DOCS / "course.rst").read_text()
    tables = {}
    parts = re.split(r"^([^\n]+)\n-{3,}\n", text, flags=re.M)  # [intro, title, body, ...]
    for title, body in zip(parts[1::2], parts[2::2]):
        rows = re.findall(r"^   \* - (\d+)\n     - (.+)$", body, flags=re.M)
        if rows:
            tables[title] = [(int(m), material) for m, material in rows]
    return tables


def stated_minutes(material: str) -> int | None:
    """The time an example or exercise states for itself; None for other rows."""
    from bpnet.exercises import find_exercise

    example = re.search(r"sphx_glr_auto_examples_(\w+)\.py", material)
    if example:
        return minutes(example_fields(example.group(1))["Time"])
    exercise = re.match(r"Exercise (\d+)", material)
    return find_exercise(exercise.group(1)).minutes if exercise else None


def test_the_course_has_two_labs_of_90_minutes_from_the_stated_times():
    tables = course_tables()
    labs = [title for title in tables if title.startswith("Lab ")]
    assert len(labs) == 2
    for title in labs:
        assert sum(m for m, _ in tables[title]) == 90, title
    for title, rows in tables.items():
        for m, material in rows:
            stated = stated_minutes(material)
            assert stated is None or stated == m, (title, material, m, stated)


def test_the_course_names_every_example_and_exercise():
    from bpnet.exercises import EXERCISES

    text = (DOCS / "course.rst").read_text()
    for name in EXAMPLES:
        assert f"sphx_glr_auto_examples_{name}.py" in text, name
    for ex in EXERCISES:
        assert f"Exercise {ex.number} (``{ex.filename}``)" in text, ex.filename


REMOTE = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//", re.I)


CODE_SCROLLS = re.compile(r"(?:^|[};,\s])pre\s*\{[^}]*overflow(?:-x)?\s*:\s*(?:auto|scroll)")


def test_code_scroll_pattern():
    assert CODE_SCROLLS.search("a{b:c}pre{overflow:auto}")
    assert CODE_SCROLLS.search("pre {\n  overflow-x: scroll;\n}")
    assert not CODE_SCROLLS.search("pre{overflow:hidden}")
    assert not CODE_SCROLLS.search("pre{white-space:pre}")


def test_remote_pattern_finds_remote_scripts_only():
    assert REMOTE.search('<script defer="defer" src="https://cdn.example/mathjax.js"></script>')
    assert REMOTE.search('<link rel="stylesheet" href="//fonts.example/css" />')
    assert not REMOTE.search('<script src="_static/mathjax/tex-chtml.js"></script>')
    assert not REMOTE.search('<a href="https://github.com/">a link is fine</a>')


def test_reexported_names_resolve_to_their_definitions():
    conf = runpy.run_path(str(DOCS / "conf.py"))
    defining = conf["_defining_name"]
    assert defining("bpnet.BPNetwork", None) == "bpnet.network.BPNetwork"
    assert defining("bpnet.BPNetwork.loss_and_grads", None) == \
        "bpnet.network.BPNetwork.loss_and_grads"
    assert defining("bpnet.cross_validate", None) == "bpnet.cross_validation.cross_validate"
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
    # the run time sphinx-gallery measured, at the end of each example's page (pytest -s)
    times = {}
    for name in EXAMPLES:
        found = re.search(r"Total running time of the script:\*\* \((\d+) minutes ([\d.]+) seconds",
                          (gallery / f"{name}.rst").read_text())
        assert found, f"example {name} reports no run time"
        times[name] = round(60 * int(found.group(1)) + float(found.group(2)), 1)
    print("gallery run times (s):", times)
    assert source_files() == before  # the build wrote nothing into the source tree

    # offline: no page loads a script or a style sheet from the network; MathJax is bundled
    html = tmp_path / "html"
    for page in html.rglob("*.html"):
        found = REMOTE.search(page.read_text(encoding="utf-8"))
        assert found is None, f"{page.relative_to(html)} loads {found.group(0)}"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert 'src="_static/mathjax/tex-chtml.js' in (html / "pruning.html").read_text()
    assert "furo" in (html / "index.html").read_text()
    # long code lines scroll inside their block (the theme's style sheet) instead of being cut
    css = "".join(p.read_text() for p in (html / "_static" / "styles").glob("*.css"))
    assert CODE_SCROLLS.search(css), "no rule lets a long code line scroll in its block"
    # the exercise page shows every starter file; the course page is in the site
    from bpnet.exercises import EXERCISES

    exercises = (html / "exercises.html").read_text()
    for ex in EXERCISES:
        assert ex.filename in exercises and "NotImplementedError" in exercises
    assert (html / "course.html").is_file()
