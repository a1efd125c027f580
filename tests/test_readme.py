"""The README's Python example runs as written."""
import re
from pathlib import Path

import bpnet

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, str(README), "exec"), {})
    assert isinstance(bpnet.load(tmp_path / "model.npz"), bpnet.BPClassifier)
    assert "ok" in capsys.readouterr().out  # the gradcheck report printed
