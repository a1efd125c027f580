"""gradcheck: it must pass correct backward passes and catch broken ones."""
import runpy
from pathlib import Path

import numpy as np
import pytest

import bpnet

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "broken_backward.py"


def test_docs_example_flags_exactly_the_broken_layer(monkeypatch):
    plt = pytest.importorskip("matplotlib.pyplot")
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)  # a gallery script: it plots
    mod = runpy.run_path(str(EXAMPLE))
    plt.close("all")
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    good = bpnet.gradcheck(mod["TinyNet"](3, 4, 2), X, y)
    bad = bpnet.gradcheck(mod["TinyNet"](3, 4, 2, forget_sigmoid_derivative=True), X, y)
    assert good.passed() and good.max_error < 1e-6
    assert not bad.passed()
    # the bug sits below W2: the first layer's gradients are wrong, the second's are fine
    assert bad["W1"] > 0.1 and bad["b1"] > 0.1
    assert bad["W2"] < 1e-6 and bad["b2"] < 1e-6
    assert "FAIL" in str(bad) and "ok" in str(good)


def test_catches_a_small_sign_error_in_one_entry():
    class OffByOne:
        def __init__(self):
            self.net = bpnet.BPNetwork(3, 4, 2, seed=0)
            self.params = self.net.params

        def loss_and_grads(self, X, y):
            loss, grads = self.net.loss_and_grads(X, y)
            grads["b2"] = grads["b2"].copy()
            grads["b2"][1] *= -1
            return loss, grads

    rng = np.random.default_rng(0)
    report = bpnet.gradcheck(OffByOne(), rng.normal(size=(5, 3)), [0, 1, 1, 0, 1])
    assert report["b2"] > 0.5 and report.worst_index["b2"] == (1,)
    assert report["W1"] < 1e-6


def test_leaves_parameters_untouched():
    net = bpnet.BPNetwork(3, 4, 2, seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    bpnet.gradcheck(net, np.ones((2, 3)), [0, 1])
    for k in before:
        np.testing.assert_array_equal(net.params[k], before[k])


def test_runs_on_the_torch_reference_too():
    tr = pytest.importorskip("bpnet.torch_reference")
    pytest.importorskip("torch")
    net = bpnet.BPNetwork(3, 4, 3, output="softmax", loss="cross_entropy", seed=0)
    report = bpnet.gradcheck(tr.to_torch(net), np.random.default_rng(0).normal(size=(6, 3)),
                             [0, 1, 2, 0, 1, 2])
    assert report.passed()


def test_float32_warns():
    net = bpnet.BPNetwork(2, 2, 2, dtype=np.float32)
    with pytest.warns(UserWarning, match="float64"):
        bpnet.gradcheck(net, np.ones((2, 2)), [0, 1], eps=1e-2)


def test_missing_gradient_is_reported():
    class NoBias:
        params = {"w": np.ones(2), "b": np.zeros(1)}

        def loss_and_grads(self, X, y):
            return float(self.params["w"].sum()), {"w": np.ones(2)}

    with pytest.raises(ValueError, match="'b'"):
        bpnet.gradcheck(NoBias(), None, None)
