"""The wheel a user installs holds every module of the source tree.

An editable install (what the tests and a developer use) imports straight from the source
tree, so it hides a package left out of ``setup.cfg``; a normal ``pip install .`` does not.
This builds the wheel as pip would (setuptools' PEP 517 backend, in a copy of the tree so
the checkout gets no ``build/`` folder) and compares its file list with the source tree.
"""
import ast
import configparser
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bpnet", "resnet_fer")


def _source_files() -> set[str]:
    files = set()
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add(path.relative_to(ROOT).as_posix())
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("src")
    for name in ("setup.cfg", "setup.py", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    code = ("import sys; from setuptools import build_meta as b; "
            "print(b.build_wheel(sys.argv[1]))")
    done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=src,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (whl,) = out.glob("*.whl")
    return zipfile.ZipFile(whl)


def test_wheel_holds_every_module_and_package(wheel):
    in_wheel = {n for n in wheel.namelist() if not n.split("/")[0].endswith(".dist-info")}
    missing = sorted(_source_files() - in_wheel)
    assert not missing, f"left out of the wheel: {missing}"
    # the subpackages that a listed `packages =` once left out
    assert "bpnet/data/__init__.py" in in_wheel and "bpnet/data/features.py" in in_wheel


def test_wheel_holds_nothing_but_the_packages(wheel):
    tops = {n.split("/")[0] for n in wheel.namelist()}
    extra = {t for t in tops if not t.endswith(".dist-info")} - set(PACKAGES)
    assert not extra, f"the wheel installs more than the project's packages: {extra}"


def test_wheel_declares_every_console_script(wheel):
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    entry = configparser.ConfigParser()
    entry.read_string(wheel.read(name).decode())
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    declared = {line.split("=")[0].strip()
                for line in cfg["options.entry_points"]["console_scripts"].splitlines()
                if "=" in line}
    assert declared and declared <= set(entry["console_scripts"])
    for script, target in entry["console_scripts"].items():
        module = target.split(":")[0]
        assert module.replace(".", "/") + ".py" in wheel.namelist(), (script, target)


# import name -> distribution name, where they differ
_DIST = {"cv2": "opencv-python-headless", "PIL": "pillow", "sklearn": "scikit-learn",
         "yaml": "pyyaml"}


def _requirements() -> dict[str, set[str]]:
    """setup.cfg's requirements: {'install_requires' | extra name: {distribution names}}."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    def names(text):
        out = set()
        for line in text.splitlines():
            line = line.split("#")[0].strip()
            if line:
                out.add(re.split(r"[<>=!~\[; ]", line)[0].lower())
        return out
    reqs = {"install_requires": names(cfg["options"]["install_requires"])}
    for extra, text in cfg["options.extras_require"].items():
        reqs[extra] = names(text)
    return reqs


def _third_party_imports() -> dict[str, list[str]]:
    """Every top-level module the packages import (at any depth), with the files."""
    found: dict[str, list[str]] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    mods = [node.module]
                else:
                    continue
                for mod in mods:
                    top = mod.split(".")[0]
                    if top in sys.stdlib_module_names or top in PACKAGES:
                        continue
                    found.setdefault(top, []).append(path.relative_to(ROOT).as_posix())
    return found


def test_every_imported_package_is_declared():
    """A module the code imports is a requirement of the core or of an extra.

    An undeclared one works here (the developer has it) and fails for a user; this is how
    writing ``.safetensors`` model files once broke ``fer-compare --save-models`` on a fresh
    install.
    """
    reqs = _requirements()
    declared = set().union(*reqs.values())
    missing = {mod: files for mod, files in _third_party_imports().items()
               if _DIST.get(mod, mod).lower().replace("_", "-") not in declared}
    assert not missing, f"imported but declared in no requirement of setup.cfg: {missing}"


def test_the_test_extra_covers_every_other_extra():
    """The README's test line installs only ``.[test]``, and the tests exercise every extra
    except ray (large; its tests skip with a reason when it is absent)."""
    reqs = _requirements()
    test = reqs["test"]
    for extra, names in reqs.items():
        if extra in ("test", "install_requires", "ray"):
            continue
        assert names <= test, f"extra [{extra}] needs {sorted(names - test)} not in [test]"


def test_the_main_job_extra_can_write_model_files():
    """``pip install ".[torch]"`` is the README's main-job install; --save-models writes
    .safetensors, so the torch extra brings safetensors."""
    assert {"torch", "torchvision", "safetensors"} <= _requirements()["torch"]
