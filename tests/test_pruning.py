"""Distinctiveness pruning: planted redundancy, a loop reference, the retrain loop, persistence."""
import numpy as np
import pytest

import bpnet
from bpnet.prune_retrain import PruningHistory, plot_pruning_history, prune_and_retrain
from bpnet.pruning import DistinctivenessPruner, reference_decision, unit_statistics

CRITERIA = ("correlation", "angle")


def data(n=60, n_in=4, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.integers(0, n_out, size=n)


def planted(n_models=None, seed=1):
    """Units 3, 4, 5, 6 are redundant: a duplicate of 0, always 0, complement of 1, always 1."""
    net = bpnet.BPNetwork(4, 7, 3, seed=seed, n_models=n_models)
    W1, b1 = net.params["W1"], net.params["b1"]
    W1[..., :, 3], b1[..., 3] = W1[..., :, 0], b1[..., 0]          # same incoming weights
    W1[..., :, 4], b1[..., 4] = 0.01, -1000.0                      # huge negative bias
    W1[..., :, 5], b1[..., 5] = -W1[..., :, 1], -b1[..., 1]        # negated: 1 - h_1
    W1[..., :, 6], b1[..., 6] = 0.01, 1000.0                       # huge positive bias
    return net


EXPECTED = {4: "always_zero", 6: "always_one", 3: "similar", 5: "complementary"}


@pytest.mark.parametrize("criterion", CRITERIA)
@pytest.mark.parametrize("n_models", [None, 2])
def test_compensated_prune_preserves_outputs(criterion, n_models):
    X, _ = data()
    net = planted(n_models)
    before = net.forward(X)
    records = DistinctivenessPruner(criterion, compensate=True, max_per_round=10).prune(net, X)
    per_model = 1 if n_models is None else n_models
    assert len(records) == 4 * per_model
    assert {(r.unit, r.reason) for r in records} == set(EXPECTED.items())
    partners = {r.unit: r.partner for r in records}
    assert partners[3] == 0 and partners[5] == 1 and partners[4] is None
    np.testing.assert_allclose(net.forward(X), before, rtol=0, atol=1e-12)
    if n_models is None:
        assert net.n_hidden == 3  # physically removed
    else:
        np.testing.assert_array_equal(net.n_live_units(), [3, 3])
        small = net.select_model(1)
        assert small.n_hidden == 3
        np.testing.assert_allclose(small.forward(X), before[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("criterion", CRITERIA)
def test_plain_deletion_removes_the_same_units_one_per_round(criterion):
    X, _ = data()
    net = planted()
    pruner = DistinctivenessPruner(criterion)  # the paper: one unit per round, no compensation
    order = []
    for _ in range(4):
        (rec,) = pruner.prune(net, X)
        order.append(rec.reason)
    assert order[:2] == ["always_zero", "always_one"]  # constants go first
    assert sorted(order[2:]) == ["complementary", "similar"]
    assert net.n_hidden == 3
    assert pruner.prune(net, X) == []


def test_statistics_recorded():
    X, _ = data()
    recs = DistinctivenessPruner("angle", max_per_round=10).find(planted(), X)
    angles = {r.reason: r.statistic for r in recs}
    assert angles["similar"] == pytest.approx(0.0, abs=1e-5)
    assert angles["complementary"] == pytest.approx(180.0, abs=1e-5)
    recs = DistinctivenessPruner("correlation", max_per_round=10).find(planted(), X)
    assert all(r.criterion == "correlation" for r in recs)
    assert {r.reason: r.statistic for r in recs}["similar"] == pytest.approx(1.0)


@pytest.mark.parametrize("criterion", CRITERIA)
@pytest.mark.parametrize("seed", range(12))
def test_decisions_equal_loop_reference(criterion, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    net = bpnet.BPNetwork(3, 12, 2, seed=seed)
    # big weights -> saturated, strongly correlated units, so the rules have work to do
    net.params["W1"] *= rng.uniform(2, 8)
    net.params["b1"] += rng.normal(scale=4, size=12)
    pruner = DistinctivenessPruner(criterion, corr_threshold=0.9)
    while True:
        expected = reference_decision(net.hidden_activations(X), criterion)  # plain loops
        records = pruner.prune(net, X)
        if expected is None:
            assert records == []
            break
        assert [(r.unit, r.reason) for r in records] == [expected]


def test_unit_statistics_match_numpy():
    rng = np.random.default_rng(0)
    A = rng.random((30, 5))
    stats = unit_statistics(A)
    np.testing.assert_allclose(stats["corr"], np.corrcoef(A.T), atol=1e-12)
    np.testing.assert_allclose(stats["sums"], A.sum(0))
    w = (rng.random(30) < 0.6).astype(float)
    masked = unit_statistics(A, w)
    np.testing.assert_allclose(masked["corr"], np.corrcoef(A[w == 1].T), atol=1e-12)
    stacked = unit_statistics(np.stack([A, A[::-1]]), np.stack([w, w[::-1]]))
    np.testing.assert_allclose(stacked["corr"][1], masked["corr"], atol=1e-12)


def test_never_removes_the_last_unit():
    X, _ = data()
    net = bpnet.BPNetwork(4, 3, 2, seed=0)
    net.params["b1"][:] = -1000.0  # every unit is "always 0"
    pruner = DistinctivenessPruner(max_per_round=5)
    assert len(pruner.prune(net, X)) == 2
    assert net.n_hidden == 1
    assert pruner.prune(net, X) == []


def test_optimizer_state_is_pruned_too():
    X, y = data()
    net = planted()
    opt = bpnet.Adam(net.params, lr=0.01)
    opt.step(net.loss_and_grads(X, y)[1])
    m_before = opt.state["W1"]["exp_avg"].copy()
    (rec,) = DistinctivenessPruner().prune(net, X, optimizer=opt)
    keep = [j for j in range(7) if j != rec.unit]
    np.testing.assert_array_equal(opt.state["W1"]["exp_avg"], m_before[:, keep])
    assert opt.state["W2"]["exp_avg_sq"].shape == net.params["W2"].shape
    opt.step(net.loss_and_grads(X, y)[1])  # and training goes on


def test_prune_and_retrain_history_is_consistent(tmp_path):
    X, y = data(n=80)
    net = planted()
    opt = bpnet.Adam(net.params, lr=0.01)
    history = prune_and_retrain(net, X, y, opt, epochs_per_round=5, validation_data=(X, y))
    assert history.n_hidden_start == 7 and len(history.rounds) >= 2
    units = history.n_hidden_start
    for rnd in history.rounds:
        assert rnd.n_hidden == units
        units -= len(rnd.removed)
        for key in ("train_before", "train_pruned", "train_after", "val_after"):
            loss, acc = getattr(rnd, key)
            assert np.isfinite(loss) and 0 <= acc <= 1
    assert history.n_hidden_end == units == net.n_hidden >= 1
    # the loop stopped because nothing qualifies any more
    assert DistinctivenessPruner().find(net, X) == []
    # saved with the model, and loaded back
    path = bpnet.save(net, tmp_path / "pruned.npz")
    back = bpnet.load(path)
    restored = PruningHistory.from_dict(back.info["pruning"])
    assert restored.to_dict() == history.to_dict()
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    ax = plot_pruning_history(history, path=tmp_path / "fig4.png")
    assert (tmp_path / "fig4.png").stat().st_size > 0 and len(ax.lines) == 3
    assert len(ax.lines[0].get_xdata()) == len(history.rounds) + 1


def test_stacked_folds_prune_independently():
    """Each model of a stack ends exactly where pruning it alone, on its own fold, ends."""
    X, y = data(n=80)
    K = 3
    masks = np.ones((K, 80))
    masks[0, :40] = 0
    masks[1, 60:] = 0
    net = planted(n_models=K)
    net.params["b1"][2, 2] = 1000.0  # model 2 alone has a third constant unit
    singles = [net.select_model(k) for k in range(K)]
    history = prune_and_retrain(net, X, y, bpnet.Adam(net.params, lr=0.01), epochs_per_round=3,
                                sample_weight=masks)
    assert history.n_hidden_start == [7, 7, 7]
    removed_per_model = np.bincount([r["model"] for r in history.removed], minlength=K)
    np.testing.assert_array_equal(net.n_live_units(), 7 - removed_per_model)
    for k, single in enumerate(singles):
        keep = masks[k] == 1
        alone = prune_and_retrain(single, X[keep], y[keep], bpnet.Adam(single.params, lr=0.01),
                                  epochs_per_round=3)
        assert [r["reason"] for r in alone.removed] == \
            [r["reason"] for r in history.removed if r["model"] == k]
        assert single.n_hidden == net.n_live_units()[k]
        np.testing.assert_allclose(net.select_model(k).forward(X), single.forward(X), atol=1e-9)


def test_bad_arguments():
    with pytest.raises(ValueError, match="criterion"):
        DistinctivenessPruner("cosine")
    with pytest.raises(ValueError, match="max_per_round"):
        DistinctivenessPruner(max_per_round=0)


@pytest.mark.sfew
def test_pruning_on_sfew_costs_at_most_one_point(sfew_dir):
    """The paper's protocol on the real features: 20-fold CV, prune-retrain, <= 1 point lost."""
    import warnings

    from bpnet.cross_validation import cross_validate
    from bpnet.data.sfew import load_sfew_features
    from bpnet.splits import stratified_kfold

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_sfew_features(sfew_dir / "SFEW.xlsx", nan_policy="mean")
    res = cross_validate(ds.X, ds.y, stratified_kfold(ds.y, 20, seed=0), n_hidden=16,
                         epochs=300, lr=0.01, prune=True, epochs_per_round=50)
    summary = res.summary()
    assert summary["n_hidden_mean"] < summary["n_hidden_mean_before_pruning"]  # it did prune
    assert summary["test_accuracy_mean"] >= summary["test_accuracy_mean_before_pruning"] - 0.01
    assert summary["test_accuracy_mean"] > 1 / 7  # above chance


def test_several_per_round_never_share_a_unit():
    X, _ = data()
    net = bpnet.BPNetwork(4, 6, 3, seed=2)
    W1, b1 = net.params["W1"], net.params["b1"]
    for j in (2, 4):  # units 0, 2 and 4 are copies: three overlapping pairs
        W1[:, j], b1[j] = W1[:, 0], b1[0]
    before = net.forward(X)
    pruner = DistinctivenessPruner(compensate=True, max_per_round=5)
    first = pruner.prune(net, X)
    assert [(r.unit, r.partner) for r in first] == [(2, 0)]  # (0, 4) and (2, 4) overlap it
    second = pruner.prune(net, X)
    assert [(r.unit, r.partner, r.reason) for r in second] == [(3, 0, "similar")]  # old unit 4
    assert net.n_hidden == 4
    np.testing.assert_allclose(net.forward(X), before, rtol=0, atol=1e-12)
