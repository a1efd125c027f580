"""What the teaching examples of the gallery claim, held as assertions.

The docs build runs every example (tests/test_docs.py), but a run that no longer shows
what its text says still builds: a pruner that removes nothing, SGD that leaves the 6/49
plateau, saturation that no longer slows the first layer. Each test runs one example as
a script and checks the numbers its text and pictures rest on.
"""
import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


@pytest.fixture
def run_example(monkeypatch):
    plt = pytest.importorskip("matplotlib.pyplot")
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)  # a gallery script

    def run(name: str) -> dict:
        try:
            return runpy.run_path(str(EXAMPLES / f"{name}.py"))
        finally:
            plt.close("all")
    return run


def test_toy_boundary_improves_phase_by_phase_and_ends_separating_the_moons(run_example):
    ns = run_example("plot_toy_boundary")
    epochs, _, losses, accuracies = zip(*ns["snapshots"])
    assert list(epochs) == ns["phases"] and len(epochs) >= 4
    assert all(a > b for a, b in zip(losses, losses[1:]))  # every phase lowers the loss
    assert accuracies[0] < 0.7 and accuracies[-1] >= 0.97  # from chance to the moons
    # the middle phases stop at a nearly straight cut (about 85 %), short of the end
    assert any(0.8 <= a <= 0.9 for a in accuracies[1:-1])


def test_saturated_units_leave_the_first_layer_almost_unmoved(run_example):
    ns = run_example("plot_sigmoid_saturation")
    default, saturated = ns["records"]["default initialisation"], \
        ns["records"]["initial W1, b1 x 30"]
    assert saturated["saturated"][-1] > 0.5 > 10 * default["saturated"][-1]
    assert saturated["moved"][-1] < 0.05 < 1.0 < default["moved"][-1]
    # the first layer's gradient starts an order of magnitude below the default run's
    assert saturated["W1"][0] < 0.2 * default["W1"][0]
    assert set(ns["hidden"]["initial W1, b1 x 30"]) == set(ns["shown"])  # histograms taken


def test_sgd_sits_on_the_base_rate_line_and_adam_leaves_it(run_example):
    ns = run_example("plot_sgd_plateau")
    plateau = ns["plateau"]
    assert plateau == pytest.approx(6 / 49)
    sgd_loss, sgd_spread, _ = ns["runs"]["SGD (lr 0.5)"]
    adam_loss, adam_spread, _ = ns["runs"]["Adam (lr 0.01)"]
    assert abs(sgd_loss[-1] - plateau) < 0.002 and sgd_spread[-1] < 0.03
    assert adam_loss[-1] < plateau - 0.01 and adam_spread[-1] > 3 * sgd_spread[-1]


def test_the_pruning_setting_bites_and_the_merge_keeps_the_decisions(run_example):
    ns = run_example("plot_pruning_before_after")
    removed, net, pruned, X, y = (ns[k] for k in ("removed", "net", "pruned", "X", "y"))
    reasons = {reason for reason, _ in removed.values()}
    assert len(removed) >= 3 and reasons == {"similar", "complementary"}
    assert pruned.n_hidden == net.n_hidden - len(removed)
    assert np.all(pruned.predict(X) == net.predict(X))  # same decisions on every point
    assert np.sum(ns["pairs"] <= 15) >= 1 and np.sum(ns["pairs"] >= 165) >= 1
