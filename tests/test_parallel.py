"""Stacks handed to joblib workers (``n_jobs``), local processes or a cluster, give the very
bits of a serial run."""
import json

import numpy as np
import pytest

from bpnet.model_selection import grid_search_cv
from bpnet.parallel import check_n_jobs, run_jobs
from bpnet.splits import stratified_kfold

joblib = pytest.importorskip("joblib", reason="n_jobs needs the [parallel] extra (joblib)")
pytest.importorskip("threadpoolctl", reason="n_jobs needs the [parallel] extra (threadpoolctl)")


def problem(n=60, d=4, C=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % C
    return rng.normal(size=(n, d)) + 0.9 * rng.normal(size=(C, d))[y], y


# input noise and mini-batches draw random numbers while training: each stack has its own
# stream, so the draws cannot depend on which worker trains which stack, or in what order
GRID = {"n_hidden": [3, 5], "input_noise": [0.0, 0.4], "epochs": [4, 8]}
FIXED = dict(inner_splits=2, batch_size=16, max_models=3, random_state=3, keep_stacks=True)


def search(n_jobs):
    X, y = problem()
    return grid_search_cv(X, y, GRID, stratified_kfold(y, 3, seed=0), n_jobs=n_jobs, **FIXED)


def assert_same(a, b):
    """Every number of the two results equal, bit for bit."""
    for name in ("inner_accuracy", "inner_loss", "best_epoch", "chosen", "fixed_test_accuracy",
                 "val_accuracy_curves"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.refit.test_accuracy, b.refit.test_accuracy)
    for oa, ob in zip(a.outer_outputs, b.outer_outputs):
        np.testing.assert_array_equal(oa, ob)
    assert [list(s["models"]) for s in a.fit.stacks] == [list(s["models"]) for s in b.fit.stacks]
    for sa, sb in zip(a.fit.stacks, b.fit.stacks):
        for k in sa["net"].params:
            np.testing.assert_array_equal(sa["net"].params[k], sb["net"].params[k])


@pytest.fixture(scope="module")
def serial():
    res = search(1)
    assert len(res.fit.stacks) >= 4  # several stacks, so the workers really share them out
    return res


def test_local_workers_give_the_serial_bits(serial):
    assert_same(serial, search(2))


def test_noise_draws_differ_between_stacks(serial):
    """The per-stack streams are not one stream repeated: two stacks of the same models on
    different blocks see different noise (checked through their trained weights)."""
    nets = [s["net"] for s in serial.fit.stacks]
    assert not any(np.array_equal(a.params["W1"], b.params["W1"])
                   for i, a in enumerate(nets) for b in nets[i + 1:] if a.params["W1"].shape
                   == b.params["W1"].shape)


def test_a_dask_cluster_gives_the_serial_bits(serial):
    distributed = pytest.importorskip("distributed", reason="the [dask] extra is not installed")
    pytest.importorskip("dask", reason="the [dask] extra is not installed")
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), joblib.parallel_config(backend="dask"):
        res = search(-1)
    assert_same(serial, res)


def test_a_ray_cluster_gives_the_serial_bits(serial):
    ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")
    from ray.util.joblib import register_ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        register_ray()
        with joblib.parallel_config(backend="ray"):
            res = search(-1)
    finally:
        ray.shutdown()
    assert_same(serial, res)


def test_run_jobs_keeps_the_order_and_reports_each_result():
    seen = []
    assert run_jobs(divmod, [(7, 2), (9, 4), (1, 1)], n_jobs=2, on_done=seen.append) == \
        [(3, 1), (2, 1), (1, 0)]
    assert seen == [(3, 1), (2, 1), (1, 0)]


@pytest.mark.parametrize("bad", [0, True, 1.5, "2"])
def test_bad_n_jobs(bad):
    with pytest.raises(ValueError, match="n_jobs must be a non-zero integer"):
        check_n_jobs(bad)
    X, y = problem()
    with pytest.raises(ValueError, match="n_jobs"):
        grid_search_cv(X, y, {"n_hidden": [3]}, stratified_kfold(y, 2, seed=0), n_jobs=bad)


def test_tune_n_jobs_writes_the_serial_summary(tmp_path, capsys):
    from test_model_selection import sheet

    from bpnet import cli

    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"n_hidden": [3, 6], "input_noise": [0.0, 0.5], "epochs": 8}))
    base = ["tune", "--data", str(sheet(tmp_path)), "--folds", "2", "--inner-folds", "2",
            "--n-init", "1", "--grid", str(grid), "--no-progress"]
    summaries = []
    for n_jobs in ("1", "2"):
        out = tmp_path / f"run{n_jobs}"
        assert cli.main(base + ["--out", str(out), "--n-jobs", n_jobs]) == 0
        summary = json.loads((out / "summary.json").read_text())
        summary.pop("seconds", None)
        summaries.append(summary)
    assert summaries[0] == summaries[1]
    capsys.readouterr()
    assert cli.main(base + ["--n-jobs", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpnet: error: --n-jobs") and err.count("\n") == 1
