"""Sphinx configuration: autodoc + napoleon (numpydoc docstrings) + mathjax, and a gallery.

The site works offline: MathJax is bundled into ``_static/mathjax`` by
``sphinx-mathjax-offline`` (no CDN), and the furo theme loads nothing from the network;
``tests/test_docs.py`` checks that the built HTML references no remote script or style.

Build the site, running every gallery script, with warnings as errors and every
cross-reference checked (what CI does, through ``tests/test_docs.py``)::

    pip install -e ".[docs]"
    python -m sphinx -n -W --keep-going -b html docs docs/_build/html

The gallery's generated pages land in ``docs/auto_examples/`` (ignored by git);
``tests/test_docs.py`` builds a copy of ``docs/`` in a temporary folder instead, so the
test suite never writes into the source tree. ``-D plot_gallery=0`` skips running the
examples for a quick look at the text.
"""
import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.util.nodes import nested_parse_with_titles

# The packages documented: this checkout's, or the one named by $BPNET_FER_ROOT (the docs
# test builds a copy of docs/ elsewhere and points back here).
ROOT = Path(os.environ.get("BPNET_FER_ROOT", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(ROOT))

project = "bpnet-fer"
author = "The bpnet-fer authors"
release = "0.1.0"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax",
              "sphinx-mathjax-offline",  # MathJax from the package, not from a CDN
              "sphinx.ext.viewcode", "sphinx_gallery.gen_gallery"]
exclude_patterns = ["_build", "examples"]  # the gallery's sources: sphinx-gallery reads them
# furo: widely used for scientific Python docs, works without JavaScript from the
# network, and scrolls long code lines inside their block instead of cutting them off.
html_theme = "furo"
html_title = "bpnet-fer"
suppress_warnings = ["ref.python"]  # same short names (CVResult, y) in bpnet and resnet_fer

# --- autodoc and napoleon ----------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False  # torch's inherited docstrings name torch's own classes
# Mock only what is missing: with torch installed, resnet_fer is documented as it runs.
autodoc_mock_imports = [m for m in ("torch", "torchvision", "cv2")
                        if importlib.util.find_spec(m) is None]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
# The type column of Parameters/Returns/Attributes holds shapes and choices as much as
# types ("X : (n, n_in)", "hidden : {'sigmoid', 'tanh'}"), so it is shown as text rather
# than parsed into cross-references (numpydoc's own default). Attributes sections render
# like parameters instead of as separate attribute entries, which would duplicate the
# attributes autodoc documents from "#:" comments.
napoleon_use_param = False
napoleon_use_rtype = False
napoleon_custom_sections = [("Attributes", "params_style")]
# Note: napoleon reads "X: text" on the first line of a constant's "#:" comment as the
# type X (a nitpicky warning "reference target not found: X"): start such comments with a
# sentence that has no colon.

# Names documented by other projects (the standard library, NumPy, PyTorch...). Linking them
# needs intersphinx, which downloads the other projects' inventories at build time; this
# build runs offline (CI and the test suite), so they stay plain text. Everything of bpnet
# and resnet_fer must resolve.
_EXTERNAL = sorted(sys.stdlib_module_names | {"numpy", "np", "torch", "PIL", "matplotlib",
                                               "_pytest", "pytest", "hypothesis"})
nitpick_ignore_regex = [("py:class", rf"({'|'.join(map(re.escape, _EXTERNAL))})\..+")]

# --- sphinx-gallery ----------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # run every example: the docs build is their test
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
    "min_reported_time": 0,  # every page says how long its example ran
    # the summary pages of run times load jQuery and DataTables from a CDN; the run time
    # of each example still ends its own page
    "write_computation_times": False,
    "show_signature": False,
}


# --- re-exported names ---------------------------------------------------------------------
def _defining_name(target: str, module: str | None) -> str | None:
    """Where a re-exported name is defined: ``bpnet.BPNetwork`` -> ``bpnet.network.BPNetwork``.

    Also resolves a name a module imported from a sibling (``DistinctivenessPruner.prune``
    written in :mod:`bpnet.prune_retrain`).
    """
    candidates = [target] + ([f"{module}.{target}"] if module else [])
    for full in candidates:
        parts = full.split(".")
        for i in range(len(parts) - 1, 0, -1):
            try:
                owner = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            obj = getattr(owner, parts[i], None)
            home = getattr(obj, "__module__", None)
            ours = home is not None and home.split(".")[0] in ("bpnet", "resnet_fer")
            if not ours or home == owner.__name__:
                break
            return ".".join([home, getattr(obj, "__qualname__", parts[i])] + parts[i + 1:])
    return None


def _resolve_reexport(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    defined = _defining_name(node["reftarget"], node.get("py:module"))
    if defined is None:
        return None
    return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                             defined, node, contnode)


def _parsable_signature(app, what, name, obj, options, signature, return_annotation):
    """A dataclass field with a ``default_factory`` shows its default as ``<factory>``, which
    is not Python: Sphinx would then split the signature at every comma (``tuple[float``)."""
    if signature and "<factory>" in signature:
        return signature.replace("<factory>", "..."), return_annotation
    return None


class ExerciseList(Directive):
    """``.. exercise-list::``: every exercise of :mod:`bpnet.exercises`, from its catalog.

    One section per exercise with its objective, prerequisites, time and starter file, so
    the page and ``python -m bpnet.exercises start`` can never disagree.
    """

    def run(self):
        from bpnet.exercises import EXERCISES

        lines = []
        for ex in EXERCISES:
            title = f"{ex.number}. {ex.title[0].upper()}{ex.title[1:]}"
            lines += [title, "-" * len(title), "",
                      f":Objective: {ex.objective}.", f":Prerequisites: {ex.prerequisites}.",
                      f":Time: {ex.minutes} minutes.",
                      f":Grade it: ``python -m bpnet.exercises check {ex.number} "
                      f"{ex.filename}`` ({len(ex.cases)} checks)", "",
                      f"The starter file ``{ex.filename}``:", "", ".. code-block:: python", ""]
            lines += [f"   {line}" if line else "" for line in ex.stub.read_text().splitlines()]
            lines.append("")
        holder = nodes.section()
        holder.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="bpnet.exercises"), holder)
        return holder.children


def setup(app):
    app.add_directive("exercise-list", ExerciseList)
    app.connect("missing-reference", _resolve_reexport)
    app.connect("autodoc-process-signature", _parsable_signature)
