"""The wheel a user installs holds every module of the source tree.

An editable install (what the tests and a developer use) imports straight from the source
tree, so it hides a package left out of ``setup.cfg``; a normal ``pip install .`` does not.
This builds the wheel as pip would (setuptools' PEP 517 backend, in a copy of the tree so
the checkout gets no ``build/`` folder) and compares its file list with the source tree.
"""
import configparser
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
