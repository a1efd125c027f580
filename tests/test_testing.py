"""bpnet.testing and its pytest plugin: each helper passes a correct example and fails a broken one."""
import configparser
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import bpnet
from bpnet.activations import softmax
from bpnet.selfcheck import OUTPUT_LOSS_PAIRS as SELFCHECK_PAIRS
from bpnet.testing import (
    OUTPUT_LOSS_PAIRS,
    NetworkProblem,
    assert_gradients_close,
    network_configs,
    network_problems,
)

pytest_plugins = ("pytester",)

REPO_ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)


class NegatedBias:
    """A BPNetwork whose backward gets the output bias's gradient backwards (sign bug)."""

    def __init__(self, net):
        self.net, self.params = net, net.params

    def loss_and_grads(self, X, y, sample_weight=None):
        loss, grads = self.net.loss_and_grads(X, y, sample_weight=sample_weight)
        return loss, {**grads, "b2": -grads["b2"]}


class Scale:
    """``y = x * s`` with a parameter ``s`` (n,); ``bug`` forgets to sum over the batch."""

    def __init__(self, bug=False):
        self.params = {"s": np.array([0.5, -2.0, 3.0])}
        self.bug = bug

    def forward(self, x):
        self.x = x
        return x * self.params["s"]

    def backward(self, upstream):
        self.grads = {"s": (upstream * self.x)[0] if self.bug else (upstream * self.x).sum(0)}
        return upstream * self.params["s"]


def softmax_backward(G, z):
    a = softmax(z)
    return a * (G - (G * a).sum(axis=-1, keepdims=True))


def softmax_backward_wrong(G, z):  # the elementwise formula, as if softmax were a sigmoid
    a = softmax(z)
    return G * a * (1 - a)


# --- assert_gradients_close: the three forms -------------------------------------------------
def test_model_form():
    net = bpnet.BPNetwork(3, 4, 3, output="softmax", loss="cross_entropy", seed=0)
    X, y = RNG.normal(size=(6, 3)), np.array([0, 1, 2, 0, 1, 2])
    report = assert_gradients_close(net, X, y)
    assert report.passed() and set(report) == {"W1", "b1", "W2", "b2"}
    with pytest.raises(AssertionError) as failure:
        assert_gradients_close(NegatedBias(net), X, y)
    message = str(failure.value)
    assert message.startswith("NegatedBias.loss_and_grads disagrees with central differences")
    assert str(bpnet.gradcheck(NegatedBias(net), X, y)) in message  # the message is the report
    assert [line.split()[0] for line in message.splitlines() if line.endswith("FAIL")] == ["b2"]


def test_function_form():
    z = RNG.normal(size=(4, 5))
    assert assert_gradients_close(softmax, softmax_backward, z).passed()
    with pytest.raises(AssertionError, match="softmax_backward_wrong disagrees") as failure:
        assert_gradients_close(softmax, softmax_backward_wrong, z)
    assert "FAIL" in str(failure.value) and "worst entry" in str(failure.value)


def test_layer_form():
    x = RNG.normal(size=(4, 3))
    assert set(assert_gradients_close(Scale(), x)) == {"s", "x"}
    with pytest.raises(AssertionError, match="Scale.backward disagrees") as failure:
        assert_gradients_close(Scale(bug=True), x)
    failed = [line.split()[0] for line in str(failure.value).splitlines() if "FAIL" in line]
    assert failed == ["s"]


def test_tolerance_and_keywords_reach_the_checker():
    z = RNG.normal(size=(4, 5))
    # the wrong backward is off by O(1): a tolerance of 10 lets it through
    assert_gradients_close(softmax, softmax_backward_wrong, z, tol=10.0)
    with pytest.raises(ValueError, match="float32"):
        assert_gradients_close(softmax, softmax_backward, z.astype(np.float32))
    report = assert_gradients_close(softmax, softmax_backward, z, names=["logits"])
    assert list(report) == ["logits"]


@pytest.mark.parametrize("args, message", [
    ((42,), "cannot check a int"),
    ((np.tanh, np.ones(3)), r"assert_gradients_close\(f, df, \*inputs\)"),
    ((bpnet.BPNetwork(2, 2, 2), np.ones((1, 2))), r"assert_gradients_close\(model, X, y\)"),
])
def test_wrong_forms_are_type_errors(args, message):
    with pytest.raises(TypeError, match=message):
        assert_gradients_close(*args)


# --- hypothesis strategies --------------------------------------------------------------------
def test_output_loss_pairs_are_every_pair_the_network_accepts():
    assert set(OUTPUT_LOSS_PAIRS) == set(SELFCHECK_PAIRS)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network_problems())
def test_drawn_problems_fit_their_network_and_pass(problem):
    net, X, y, sw = problem.net, problem.X, problem.y, problem.sample_weight
    assert isinstance(problem, NetworkProblem)
    assert X.shape[-1] == net.n_inputs and X.shape[-2] == y.shape[0]
    assert y.min() >= 0 and y.max() < net.n_outputs
    if sw is not None:
        assert sw.shape[-1] == y.shape[0] and np.all(sw >= 0)
    assert_gradients_close(net, X, y, sample_weight=sw)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network_problems(min_outputs=2))
def test_drawn_problems_catch_a_sign_error(problem):
    with pytest.raises(AssertionError, match="b2"):
        assert_gradients_close(NegatedBias(problem.net), problem.X, problem.y,
                               sample_weight=problem.sample_weight)


@settings(max_examples=60, deadline=None)
@given(network_configs(max_inputs=3, max_hidden=2, max_outputs=2, stacks=False,
                       hidden=("tanh",), pairs=[("identity", "mse")]))
def test_configs_respect_their_bounds(config):
    net = bpnet.BPNetwork(**config)
    assert net.n_models is None and net.hidden == "tanh" and net.output == "identity"
    assert 1 <= net.n_inputs <= 3 and 1 <= net.n_hidden <= 2 and 1 <= net.n_outputs <= 2


def test_bad_strategy_arguments():
    with pytest.raises(ValueError, match="min_outputs"):
        network_configs(min_outputs=5, max_outputs=4)


# --- imports ----------------------------------------------------------------------------------
def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})


def test_import_bpnet_loads_no_torch_sklearn_or_hypothesis():
    result = run_python("""
        import sys
        import bpnet, bpnet.testing, bpnet.pytest_plugin
        print(sorted(m for m in ("torch", "sklearn", "hypothesis") if m in sys.modules))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


BLOCK_HYPOTHESIS = """
import importlib.abc
import sys

class NoHypothesis(importlib.abc.MetaPathFinder):  # as if hypothesis were not installed
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "hypothesis":
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, NoHypothesis())
"""


def test_without_hypothesis_the_assertions_work_and_strategies_say_why():
    result = run_python(BLOCK_HYPOTHESIS + textwrap.dedent("""
        import numpy as np
        from bpnet.testing import assert_gradients_close, network_problems
        assert_gradients_close(np.tanh, lambda G, z: G * (1 - np.tanh(z) ** 2), np.ones(3))
        try:
            network_problems()
        except ImportError as e:
            print(e)
    """))
    assert result.returncode == 0, result.stderr
    assert "need hypothesis: pip install hypothesis" in result.stdout


# --- the pytest plugin ------------------------------------------------------------------------
PLUGIN = ("-p", "no:bpnet", "-p", "bpnet.pytest_plugin")  # not twice when it is installed

TESTS_USING_THE_FIXTURE = """
    import numpy as np

    def test_right(bpnet_gradcheck):
        bpnet_gradcheck(np.tanh, lambda G, z: G * (1 - np.tanh(z) ** 2), np.ones((2, 3)))

    def test_wrong(bpnet_gradcheck):
        bpnet_gradcheck(np.tanh, lambda G, z: G * (1 - np.tanh(z)), np.ones((2, 3)))
"""


def test_plugin_fixture_passes_right_and_fails_wrong(pytester):
    pytester.makepyfile(TESTS_USING_THE_FIXTURE)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*disagrees with central differences (tol 1e-06)*",
                                 "*x *e-01 *FAIL"])


def test_plugin_reads_the_tolerance_from_the_ini_file(pytester):
    pytester.makepyfile(TESTS_USING_THE_FIXTURE)
    pytester.makeini("[pytest]\nbpnet_gradcheck_tol = 10\n")
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=2)


def test_plugin_seeds_each_test_from_its_id(pytester):
    pytester.makepyfile("""
        import numpy as np

        def record(G, z):
            print("upstream", G.tolist())
            return G * (1 - np.tanh(z) ** 2)

        def test_a(bpnet_gradcheck):
            bpnet_gradcheck(np.tanh, record, np.ones(2))

        def test_b(bpnet_gradcheck):
            bpnet_gradcheck(np.tanh, record, np.ones(2))
    """)
    runs = [re.findall(r"upstream \[[^]]*\]", pytester.runpytest(*PLUGIN, "-s").stdout.str())
            for _ in range(2)]
    assert len(runs[0]) == 2 and runs[0] == runs[1]  # the same on every run
    assert runs[0][0] != runs[0][1]  # a different one per test


def test_plugin_works_without_hypothesis(tmp_path):
    (tmp_path / "test_it.py").write_text(textwrap.dedent(TESTS_USING_THE_FIXTURE))
    result = run_python(BLOCK_HYPOTHESIS + f"""
import pytest
sys.exit(pytest.main({[str(tmp_path), "-q", "-p", "no:hypothesispytest", "-p", "no:cacheprovider",
                       *PLUGIN]!r}))
""")
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr


def test_an_installed_checkout_loads_the_plugin(pytestconfig):
    from importlib.metadata import entry_points

    if not any(ep.value == "bpnet.pytest_plugin" for ep in entry_points(group="pytest11")):
        pytest.skip("bpnet-fer is not installed from a checkout with the plugin "
                    "(pip install -e .), so pytest has no entry point to load")
    assert pytestconfig.pluginmanager.has_plugin("bpnet")


def test_setup_cfg_registers_the_plugin():
    cfg = configparser.ConfigParser()
    cfg.read(REPO_ROOT / "setup.cfg")
    entry = cfg["options.entry_points"]["pytest11"].strip()
    assert entry == "bpnet = bpnet.pytest_plugin"
