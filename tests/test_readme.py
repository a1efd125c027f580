"""The README's Python example runs as written, and the accuracy it prints is held out."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bpnet

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    for code in blocks:
        exec(compile(code, str(README), "exec"), ns)
    assert isinstance(bpnet.load(tmp_path / "model.npz"), bpnet.BPClassifier)
    out = capsys.readouterr().out
    assert "ok" in out  # the gradcheck report printed

    # the printed accuracy is measured on rows the classifier never trained on
    X, y, train, test, clf = (ns[k] for k in ("X", "y", "train", "test", "clf"))
    assert len(np.intersect1d(train, test)) == 0
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(y)))
    printed = float(out.strip().splitlines()[-1])
    assert printed == pytest.approx(clf.score(X[test], y[test]))
    assert printed < clf.score(X[train], y[train])  # so it is not the training accuracy
    assert printed > 2 / 7  # and the toy problem is learnable: well above chance (1/7)


# --- every shell command the README shows runs as written (slow ones in quick mode) --------

#: how each program is started from the tests' interpreter (the console scripts' targets)
PROGRAMS = {"fer-compare": ["-m", "resnet_fer.compare"], "bpnet": ["-m", "bpnet"],
            "resnet-fer": ["-m", "resnet_fer"], "fer-predict": ["-m", "resnet_fer.predict"],
            "torchrun": ["-m", "torch.distributed.run"]}
#: options appended to make a slow command quick (argparse keeps the last value given)
QUICK = {"fer-compare": ["--quick", "--no-progress"],
         "resnet-fer train": ["--epochs", "1", "--size", "32", "--width", "8", "--stem", "small",
                              "--folds", "2", "--no-compile", "--no-progress"],
         "bpnet cv": ["--epochs", "5", "--no-progress"],
         "bpnet tune": ["--folds", "3", "--inner-folds", "2", "--no-progress"],
         "bpnet features": ["--size", "48", "--no-progress"]}


def readme_blocks() -> list[list[str]]:
    """The command lines of each README ``bash`` block, comments and installs removed."""
    blocks = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        commands = []
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            for part in (p.strip() for p in line.split("&&")):
                if part and not part.startswith(("pip install", "python -m pytest")):
                    commands.append(part)
        if commands:
            blocks.append(commands)
    return blocks


def _argv(command: str, sfew: Path | None, cuda: bool) -> tuple[list[str], str]:
    """The command as the tests run it, and the kind of outcome expected."""
    words = shlex.split(command.replace("SFEW/", f"{sfew}/" if sfew else "SFEW/"))
    prog = words[0]
    argv = [sys.executable, *PROGRAMS[prog], *words[1:]]
    if prog == "torchrun":  # the launcher's own options, then resnet_fer's
        argv = [a.replace("--nproc_per_node=4", "--nproc_per_node=2") for a in argv]
        key = "resnet-fer train"
    else:
        key = " ".join(words[:2]) if words[1:2] and not words[1].startswith("-") else prog
    if "--help" not in words and "--version" not in words:
        argv += QUICK.get(key, [])
    expect = "cuda-error" if ("cuda" in words and not cuda) else "ok"
    return argv, expect


BLOCKS = readme_blocks()
COMMANDS = [c for block in BLOCKS for c in block]


def test_readme_shows_the_main_commands():
    heads = {" ".join(c.split()[:2]) for c in COMMANDS}
    assert "fer-compare" in {c.split()[0] for c in COMMANDS}
    assert {"bpnet check", "bpnet cv", "bpnet tune", "resnet-fer train"} <= heads
    # "Use a trained model": save the models, predict new photos, export the ResNet
    assert {"fer-predict", "resnet-fer export"} <= heads | {c.split()[0] for c in COMMANDS}
    assert any("--save-models" in c for c in COMMANDS)
    unknown = {c.split()[0] for c in COMMANDS} - set(PROGRAMS)
    assert not unknown, f"README commands this test cannot run: {unknown}"


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_readme_commands_run(block, tmp_path):
    """Each block's commands, in order, in one fresh folder (a later one may use an earlier
    one's output), each as written plus the options that make it quick.

    Without SFEW, a block that reads SFEW only as ``fer-predict``'s photos runs on synthetic
    faces laid out as SFEW's ``images/<Emotion>/`` folder (the model is trained on the
    built-in faces either way); a block that trains on SFEW is skipped."""
    from conftest import find_sfew_dir

    sfew = find_sfew_dir()
    reads_sfew = [c for c in block if "SFEW/" in c]
    if reads_sfew and sfew is None:
        if not all(c.startswith("fer-predict ") for c in reads_sfew):
            pytest.skip("needs SFEW: set $SFEW_DIR or place it in ../shared/data/sfew")
        from bpnet.data.synthetic import synthetic_faces, write_image_folder

        sfew = tmp_path / "sfew-stand-in"
        write_image_folder(synthetic_faces(n_per_class=2, size=96, seed=5), sfew / "images")
    torch = pytest.importorskip("torch")
    env = {**os.environ, "PYTHONPATH": str(README.parent), "OMP_NUM_THREADS": "1",
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}
    for command in block:
        argv, expect = _argv(command, sfew, torch.cuda.is_available())
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)
        if expect == "cuda-error":  # without a GPU: one line that says so, exit 2
            assert done.returncode == 2, done.stderr[-2000:]
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and "error:" in lines[0] and "CUDA" in lines[0], lines
            continue
        assert done.returncode == 0, f"{argv}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
