"""Sphinx configuration: autodoc + napoleon (numpydoc docstrings) + mathjax."""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "bpnet-fer"
author = "The bpnet-fer authors"
release = "0.1.0"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax",
              "sphinx.ext.viewcode"]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
autodoc_member_order = "bysource"
autodoc_mock_imports = ["torch", "torchvision", "cv2"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
suppress_warnings = ["ref.python"]  # same short names (CVResult, y) in bpnet and resnet_fer
napoleon_use_param = False
napoleon_use_rtype = False
napoleon_custom_sections = [("Attributes", "params_style")]
