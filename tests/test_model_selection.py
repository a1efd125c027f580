"""Nested grid search as stacks: each stacked model is its separate run, and the outer test
rows never influence the choice."""
import json

import numpy as np
import pytest

import bpnet
from bpnet.grid_stack import Block, ModelSpec, check_setting, fit_models
from bpnet.model_selection import expand_grid, grid_search_cv
from bpnet.preprocessing import Normalizer
from bpnet.splits import group_kfold, stratified_kfold
from bpnet.training import Curves, FullBatch, MiniBatch


def problem(n=72, d=4, C=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % C
    X = rng.normal(size=(n, d)) + 0.9 * rng.normal(size=(C, d))[y]
    X[:, 0] = np.exp(X[:, 0])  # a skewed column: the per-model normaliser log-transforms it
    return X, y


# MSE and softmax cross-entropy cannot share a network: two groups of stacks. Hidden sizes
# 3 and 5 share stacks through unit masks; lr and weight decay are per model.
GRID = [{"n_hidden": [3, 5], "lr": [0.01, 0.05], "weight_decay": [0.0, 0.01]},
        {"loss": ["cross_entropy"], "output": ["softmax"], "n_hidden": [4],
         "class_weight": [None, "balanced"]}]


def separate_run(net, X, y, fit, val, lr, wd, epochs, class_weight=None):
    """One network alone, the reference backprop (not the fused pass): its validation loss
    and accuracy after every epoch, and its parameters at the first lowest loss."""
    norm = Normalizer().fit(X[fit])
    Xf, Xv = norm.transform(X[fit]), norm.transform(X[val])
    if class_weight == "balanced":
        counts = np.bincount(y[fit], minlength=net.n_outputs)
        net.class_weight = len(fit) / (net.n_outputs * counts)
    plain = net.copy()
    plain.class_weight = None  # validation is scored unweighted
    opt = bpnet.Adam(net.params, lr=lr, weight_decay=wd)
    losses, accs, best, best_params = [], [], np.inf, None
    for _ in range(epochs):
        opt.step(net.loss_and_grads(Xf, y[fit])[1])
        plain.params = net.params
        losses.append(plain.loss_value(Xv, y[val]))
        accs.append(np.mean(plain.predict(Xv) == y[val]))
        if losses[-1] < best:
            best, best_params = losses[-1], {k: v.copy() for k, v in net.params.items()}
    net.params = best_params
    return net, norm, np.array(losses), np.array(accs)


def test_each_stacked_model_equals_its_separate_run():
    X, y = problem()
    splits = stratified_kfold(y, 3, seed=1)
    epochs = 25
    res = grid_search_cv(X, y, GRID, splits, inner_splits=2, epochs=epochs, dtype="float64",
                         random_state=4, max_models=20, keep_stacks=True)
    params = expand_grid(GRID)
    n_out, n_in, n_set = 3, 2, len(params)
    assert res.inner_accuracy.shape == (n_out, n_in, n_set)
    stacks = res.fit.stacks
    assert len(stacks) >= 4 and sum(len(st["models"]) for st in stacks) == n_out * n_in * n_set
    assert any(st["net"].unit_mask is not None for st in stacks)  # mixed hidden sizes
    checked = 0
    for st in stacks:
        for k, m in enumerate(st["models"]):
            o, i, s = np.unravel_index(m, (n_out, n_in, n_set))
            p = {"n_hidden": 4, "lr": 0.01, "weight_decay": 0.0, **params[s]}
            fit, val = res.inner_splits[o][i]
            test = splits[o][1]
            net = st["init"].select_model(k)  # masked units compacted away
            assert net.n_hidden == p["n_hidden"] and net.loss == p.get("loss", "mse")
            net, norm, losses, accs = separate_run(net, X, y, fit, val, p["lr"],
                                                   p["weight_decay"], epochs,
                                                   p.get("class_weight"))
            np.testing.assert_allclose(st["log"].curves["val_loss"][:, k], losses,
                                       rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(st["log"].curves["val_accuracy"][:, k], accs, atol=1e-12)
            assert res.best_epoch[o, i, s] == np.argmin(losses) + 1
            assert res.inner_accuracy[o, i, s] == pytest.approx(accs[np.argmin(losses)], abs=1e-12)
            # the stack restored this model's best epoch: its outer-test outputs agree
            np.testing.assert_allclose(res.fit.outputs[m][0], net.forward(norm.transform(X[test])),
                                       rtol=0, atol=1e-10)
            checked += 1
    assert checked == n_out * n_in * n_set


def test_a_grid_over_epochs_is_read_from_one_run():
    """Settings that differ only in epochs are one model, scored after each epoch count."""
    X, y = problem(seed=4)
    splits = stratified_kfold(y, 2, seed=0)
    grid = {"n_hidden": [3, 4], "epochs": [4, 9, 15]}
    res = grid_search_cv(X, y, grid, splits, inner_splits=2, dtype="float64", lr=0.05,
                         keep_stacks=True)
    assert sum(len(st["models"]) for st in res.fit.stacks) == 2 * 2 * 2  # not 2 * 2 * 6
    for st in res.fit.stacks:
        for k, m in enumerate(st["models"]):
            block, h = divmod(m, 2)
            o, i = divmod(block, 2)
            fit, val = res.inner_splits[o][i]
            net = st["init"].select_model(k)
            norm = Normalizer().fit(X[fit])
            opt = bpnet.Adam(net.params, lr=0.05)
            for e in range(1, 16):
                opt.step(net.loss_and_grads(norm.transform(X[fit]), y[fit])[1])
                if e in grid["epochs"]:
                    p = grid["epochs"].index(e)
                    s = 3 * h + p
                    assert res.params[s] == {"n_hidden": grid["n_hidden"][h], "epochs": e}
                    assert res.best_epoch[o, i, s] == e
                    acc = np.mean(net.predict(norm.transform(X[val])) == y[val])
                    assert res.inner_accuracy[o, i, s] == pytest.approx(acc, abs=1e-12)
                    np.testing.assert_allclose(res.fit.outputs[m][p],
                                               net.forward(norm.transform(X[splits[o][1]])),
                                               rtol=0, atol=1e-10)
    assert set(res.summary()["chosen"][0]["setting"]) == {"n_hidden", "epochs"}


# --- input noise in the training core ------------------------------------------------
def test_input_noise_per_model_equals_separate_noisy_runs():
    """Model k steps on X + sigma_k z_k, z drawn as one (K, d, n) array per epoch."""
    X, y = problem(n=30, seed=1)
    sigma = np.array([0.0, 0.4, 1.5])
    stack = bpnet.BPNetwork(4, 5, 3, seed=2, n_models=3, dtype="float64")
    init = stack.copy()
    log = bpnet.train(stack, (X, y), bpnet.Adam(stack.params, lr=0.02), 6, [Curves()],
                      steps=FullBatch(input_noise=sigma), rng=np.random.default_rng(9))
    draws = np.random.default_rng(9)
    nets = [init.select_model(k) for k in range(3)]
    opts = [bpnet.Adam(net.params, lr=0.02) for net in nets]
    for e in range(6):
        z = draws.standard_normal((3, 4, 30))
        for k, (net, opt) in enumerate(zip(nets, opts)):
            opt.step(net.loss_and_grads(X + sigma[k] * z[k].T, y)[1])
            # the curves measure the clean inputs
            assert log.curves["train_loss"][e, k] == pytest.approx(net.loss_value(X, y), rel=1e-12)
    for k, net in enumerate(nets):
        for name, p in net.params.items():
            np.testing.assert_allclose(stack.params[name][k], p, rtol=0, atol=1e-12)
    plain = init.copy()
    bpnet.train(plain, (X, y), bpnet.Adam(plain.params, lr=0.02), 6)
    np.testing.assert_array_equal(plain.params["W1"][0], stack.params["W1"][0])  # sigma 0: as before
    assert not np.allclose(plain.params["W1"][1], stack.params["W1"][1])


def test_input_noise_in_minibatches_and_bad_values():
    X, y = problem(n=30, seed=1)
    net = bpnet.BPNetwork(4, 5, 3, seed=2)
    before = net.copy()
    bpnet.train(net, (X, y), bpnet.Adam(net.params, lr=0.02), 3, steps=MiniBatch(8, 0.5),
                rng=np.random.default_rng(0))
    again = before.copy()
    bpnet.train(again, (X, y), bpnet.Adam(again.params, lr=0.02), 3, steps=MiniBatch(8),
                rng=np.random.default_rng(0))
    assert not np.allclose(net.params["W1"], again.params["W1"])
    for bad, match in ((-0.1, "non-negative"), ([0.1, 0.2], "one per model"), (np.nan, "finite")):
        with pytest.raises(ValueError, match=match):
            bpnet.train(before.copy(), (X, y), bpnet.Adam(before.copy().params), 1,
                        steps=FullBatch(input_noise=bad))


def test_refit_models_train_for_their_own_epochs():
    """Models with different epoch counts share a stack (trained in segments), also when
    their settings' own epochs differ (the refits of different chosen settings)."""
    X, y = problem(seed=2)
    tr = np.arange(60)
    blocks = [Block(tr, np.array([], np.int64), np.arange(60, 72), (0, b)) for b in range(2)]
    epochs = [3, 11, 7, 11]
    specs = [ModelSpec({"n_hidden": h, "lr": lr, "dtype": "float64", "epochs": 20 + e}, b, epochs=e)
             for h, lr, b, e in zip((2, 4, 3, 4), (0.02, 0.05, 0.01, 0.03), (0, 1, 0, 1), epochs)]
    res = fit_models(X, y, specs, blocks, n_classes=3, keep_stacks=True)
    np.testing.assert_array_equal(res.best_epoch[:, 0], epochs)
    (st,) = res.stacks
    for k, m in enumerate(st["models"]):
        net = st["init"].select_model(k)
        norm = Normalizer().fit(X[tr])
        opt = bpnet.Adam(net.params, lr=specs[m].setting["lr"])
        for _ in range(epochs[m]):
            opt.step(net.loss_and_grads(norm.transform(X[tr]), y[tr])[1])
        np.testing.assert_allclose(res.outputs[m][0], net.forward(norm.transform(X[60:])),
                                   rtol=0, atol=1e-10)


def test_outer_test_rows_never_influence_the_choice():
    X, y = problem(n=90, seed=3)
    splits = stratified_kfold(y, 3, seed=0)
    grid = {"n_hidden": [2, 6], "lr": [0.003, 0.03], "weight_decay": [0.0, 0.05]}
    kw = dict(inner_splits=3, epochs=30, random_state=1, max_models=10)
    base = grid_search_cv(X, y, grid, splits, **kw)
    rng = np.random.default_rng(7)
    for o, (_, te) in enumerate(splits):
        Xp, yp = X.copy(), y.copy()
        Xp[te] = rng.normal(size=Xp[te].shape) * 5 + 3  # features and labels of the test rows
        yp[te] = rng.integers(0, 3, len(te))
        again = grid_search_cv(Xp, yp, grid, splits, **kw)
        assert again.chosen[o] == base.chosen[o]
        np.testing.assert_array_equal(again.scores[o], base.scores[o])
        np.testing.assert_array_equal(again.best_epoch[o], base.best_epoch[o])
        others = [q for q in range(3) if q != o]  # those rows train the other folds' models:
        assert not np.array_equal(again.scores[others], base.scores[others])  # the poison works


def test_inner_folds_lie_inside_the_outer_training_rows():
    X, y = problem()
    groups = np.arange(len(y)) // 4
    splits = group_kfold(y, groups, 3, seed=0)
    res = grid_search_cv(X, y, {"n_hidden": [2]}, splits, inner_splits=3, groups=groups,
                         epochs=2)
    for (tr, te), inner in zip(splits, res.inner_splits):
        assert len(inner) == 3
        np.testing.assert_array_equal(np.sort(np.concatenate([v for _, v in inner])), tr)
        for fit, val in inner:
            assert np.intersect1d(fit, te).size == 0 and np.intersect1d(val, te).size == 0
            assert np.intersect1d(groups[fit], groups[val]).size == 0  # movies kept whole
    bad = [[(tr[:-1], np.concatenate([tr[-1:], te[:1]]))] for tr, te in splits]
    with pytest.raises(ValueError, match="outer test row would leak"):
        grid_search_cv(X, y, {"n_hidden": [2]}, splits, inner_splits=bad, epochs=2)


def test_ensemble_refit_and_fixed_scores_are_consistent():
    X, y = problem(seed=5)
    splits = stratified_kfold(y, 3, seed=2)
    res = grid_search_cv(X, y, {"n_hidden": [2, 5], "lr": [0.01, 0.05]}, splits,
                         inner_splits=2, epochs=40, keep_stacks=True)
    n_out, n_in, n_set = res.inner_accuracy.shape
    np.testing.assert_allclose(res.scores, res.inner_accuracy.mean(axis=1))
    np.testing.assert_array_equal(res.chosen, res.scores.argmax(axis=1))
    for o, (_, te) in enumerate(splits):
        mean_out = np.mean([res.fit.outputs[(o * n_in + i) * n_set + res.chosen[o]][0]
                            for i in range(n_in)], 0)
        np.testing.assert_array_equal(res.ensemble.y_pred[te], mean_out.argmax(axis=1))
        assert res.ensemble.test_accuracy[o] == np.mean(mean_out.argmax(axis=1) == y[te])
        assert res.fixed_test_accuracy[o, res.chosen[o]] == res.ensemble.test_accuracy[o]
    summary = res.summary()
    assert summary["test_accuracy_mean"] == pytest.approx(res.ensemble.test_accuracy.mean(), abs=1e-6)
    assert summary["test_accuracy_mean_refit"] == pytest.approx(res.refit.test_accuracy.mean(), abs=1e-6)
    assert [c["setting"] for c in summary["chosen"]] == res.chosen_params()
    json.dumps(summary)  # plain numbers only
    table = res.table()
    assert len(table) == n_set and sum(r["times_chosen"] for r in table) == n_out
    refit = grid_search_cv(X, y, {"n_hidden": [2, 5], "lr": [0.01, 0.05]}, splits,
                           inner_splits=2, epochs=40, outer="refit")
    assert refit.summary()["test_accuracy_mean"] == pytest.approx(res.refit.test_accuracy.mean(), abs=1e-6)


def test_top_k_ensembles_and_repeated_inits():
    X, y = problem(seed=6)
    splits = stratified_kfold(y, 2, seed=0)
    grid = {"n_hidden": [2, 4, 6]}
    res = grid_search_cv(X, y, grid, splits, inner_splits=2, n_init=2, epochs=20, top_k=2)
    assert res.inner_accuracy.shape == (2, 4, 3)  # 2 inner folds x 2 initialisations
    assert not np.array_equal(res.inner_accuracy[:, 0], res.inner_accuracy[:, 1])
    for o, (_, te) in enumerate(splits):
        top = np.argsort(-res.scores[o], kind="stable")[:2]
        assert top[0] == res.chosen[o]
        mean_out = res.outer_outputs[o][:, top].mean(axis=(0, 1))  # 4 models x 2 settings
        np.testing.assert_array_equal(res.ensemble.y_pred[te], mean_out.argmax(axis=1))
    everything = res.ensemble_scores(3)
    for o, (_, te) in enumerate(splits):
        np.testing.assert_array_equal(everything.y_pred[te],
                                      res.outer_outputs[o].mean(axis=(0, 1)).argmax(axis=1))
    assert res.summary()["n_init"] == 2 and res.summary()["top_k"] == 2


def test_stacks_pad_hidden_sizes_only_when_small():
    from bpnet.grid_stack import _plan_stacks

    hidden = [16] * 60 + [64] * 60
    stacks = _plan_stacks(range(120), lambda m: "same", hidden, list(range(120)), 64)
    assert [len(s) for s in stacks] == [60, 60]  # a full stack of 16s is not padded to 64
    hidden = [3] * 5 + [5] * 5 + [7] * 30
    stacks = _plan_stacks(range(40), lambda m: "same", hidden, list(range(40)), 32)
    assert [sorted({hidden[m] for m in s}) for s in stacks] == [[3, 5, 7], [7]]
    assert [len(s) for s in stacks] == [32, 8]
    keys = _plan_stacks(range(4), lambda m: m % 2, [4] * 4, [0] * 4, 64)
    assert [list(s) for s in keys] == [[0, 2], [1, 3]]  # never two keys in one stack
    cap = {8: 45, 16: 30}  # what fits the cache: fewer models per stack as they widen
    hidden = [8] * 90 + [16] * 90
    stacks = _plan_stacks(range(180), lambda m: "same", hidden, list(range(180)), 64, cap.get)
    assert [(len(s), sorted({hidden[m] for m in s})) for s in stacks] == [
        (45, [8]), (45, [8]), (30, [16]), (30, [16]), (30, [16])]


def test_grid_expansion():
    assert expand_grid({"n_hidden": [2, 3], "lr": [0.1]}) == [
        {"n_hidden": 2, "lr": 0.1}, {"n_hidden": 3, "lr": 0.1}]
    assert len(expand_grid([{"n_hidden": [2, 3]}, {"loss": ["mse"], "lr": [1, 2, 3]}])) == 5


@pytest.mark.parametrize("grid,settings,match", [
    ({"n_hiden": [2]}, {}, "unknown grid name"),
    ({"n_hidden": []}, {}, "non-empty list"),
    ({"n_hidden": 3}, {}, "non-empty list"),
    ([], {}, "empty"),
    ({"lr": [0.1]}, {"lr": 0.2}, "both in the grid"),
    ({"lr": [-1.0]}, {}, "lr=-1.0: must be positive"),
    ({"n_hidden": [2.5]}, {}, "positive integer"),
    ({"loss": ["cross_entropy"]}, {"output": "identity"}, "needs output="),
    ({"class_weight": [[1, 2, 3]]}, {}, "None or 'balanced'"),
    ({"hidden": ["swish"]}, {}, "swish"),
])
def test_bad_grids_fail_before_training(grid, settings, match):
    X, y = problem()
    with pytest.raises(ValueError, match=match):
        grid_search_cv(X, y, grid, stratified_kfold(y, 2, seed=0), inner_splits=2, epochs=2,
                       **settings)


def test_check_setting_fills_the_defaults():
    cfg = check_setting({"n_hidden": 7})
    assert cfg["n_hidden"] == 7 and cfg["loss"] == "mse" and cfg["epochs"] == 300


# --- the command line ---------------------------------------------------------------
def sheet(tmp_path, n=84, seed=0):
    """A small feature CSV in the loader's layout (movie groups from the names)."""
    from bpnet.data.sfew import FeatureDataset, save_features_csv

    X, y = problem(n=n, d=10, C=7, seed=seed)
    names = [f"Movie{i % 12}_00{i:04d}_00000001" for i in range(n)]
    ds = FeatureDataset(X, y, names, [f"Movie{i % 12}" for i in range(n)],
                        [f"lpq_pc{j}" for j in range(1, 6)] + [f"phog_pc{j}" for j in range(1, 6)],
                        ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"])
    return save_features_csv(ds, tmp_path / "features.csv")


@pytest.mark.parametrize("split", ["stratified", "group"])
def test_tune_writes_summary_table_and_heatmap(tmp_path, capsys, split):
    from bpnet import cli

    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"n_hidden": [3, 6], "lr": [0.01, 0.05], "epochs": 15}))
    out = tmp_path / "run"
    args = ["tune", "--data", str(sheet(tmp_path)), "--folds", "3", "--inner-folds", "2",
            "--n-init", "2", "--split", split, "--grid", str(grid), "--out", str(out), "--no-progress"]
    assert cli.main(args) == 0
    assert "nested cross-validation" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["split"] == split and summary["outer_folds"] == 3
    assert summary["settings"] == 4 and summary["inner_scores"] == 3 * 2 * 2 * 4
    assert summary["networks_trained"] == 3 * 2 * 2 * 4 + 3  # and one refit per outer fold
    assert summary["n_init"] == 2 and summary["inner_folds"] == 2
    assert 0 <= summary["test_accuracy_mean"] <= 1
    assert len(summary["chosen"]) == 3 and set(summary["chosen"][0]["setting"]) == {"n_hidden", "lr"}
    assert summary["fixed_settings"]["epochs"] == 15
    lines = (out / "grid.csv").read_text().splitlines()
    assert lines[0].startswith("lr,n_hidden,inner_accuracy_mean") and len(lines) == 5
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    # a finished run is never overwritten silently
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpnet: error: ") and err.count("\n") == 1
    assert "finished bpnet tune run; pass --force" in err
    assert cli.main(args + ["--force"]) == 0


@pytest.mark.parametrize("content,message", [
    ("{not json", "not valid JSON"),
    ('{"n_hidden": [3], "lr": "fast"}', "lr='fast': must be a number"),
    ('{"n_hiden": [3]}', "unknown grid name"),
    ('[1, 2]', "expected an object"),
    ('{"epochs": [5, 6]}', "--epochs: the grid searches epochs (set it in one place)"),
    ('{"epochs": 5}', "--epochs is also set in --grid"),
])
def test_tune_reports_a_bad_grid_in_one_line(tmp_path, capsys, content, message):
    from bpnet import cli

    grid = tmp_path / "grid.json"
    grid.write_text(content)
    args = ["tune", "--data", str(sheet(tmp_path)), "--folds", "2", "--inner-folds", "2",
            "--grid", str(grid), "--no-progress"]
    if "--epochs" in message:
        args += ["--epochs", "3"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpnet: error: ") and message in err and err.count("\n") == 1


def test_tune_reports_missing_files(tmp_path, capsys):
    from bpnet import cli

    assert cli.main(["tune", "--data", str(tmp_path / "nope.xlsx")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["tune", "--data", str(sheet(tmp_path)), "--grid", str(tmp_path / "g.json")]) == 2
    assert capsys.readouterr().err.startswith("bpnet: error: --grid")


@pytest.mark.slow
@pytest.mark.sfew
def test_recommended_grouped_search_on_sfew(sfew_dir):
    """The movie-grouped default of ``bpnet tune`` (about 10 s). Measured: 19.6 % nested
    (docs/model_selection.rst); the bound leaves room for float32 rounding elsewhere."""
    import warnings

    from bpnet.data.sfew import load_sfew_features
    from bpnet.model_selection import RECOMMENDED

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_sfew_features(sfew_dir / "SFEW.xlsx")
    rec = RECOMMENDED["group"]
    splits = group_kfold(ds.y, ds.groups, 5, seed=0)
    res = grid_search_cv(ds.X, ds.y, rec["grid"], splits, groups=ds.groups,
                         n_init=rec["n_init"], **rec["settings"])
    for (tr, te), inner in zip(splits, res.inner_splits):  # movies never cross a split
        assert not set(ds.groups[te]) & set(ds.groups[tr])
        assert all(not set(ds.groups[a]) & set(ds.groups[b]) for a, b in inner)
    assert res.summary()["test_accuracy_mean"] >= 0.185  # chance: 0.148
