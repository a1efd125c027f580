"""The README's Python example runs as written, and the accuracy it prints is held out."""
import re
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
