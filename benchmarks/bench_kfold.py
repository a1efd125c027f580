"""Claim: the paper's protocol trains faster as one bpnet stack than as PyTorch programs,
the strongest of them (all folds as one batched program) included.

The protocol: SFEW.xlsx (or, without it, synthetic features of the same shape), 20
stratified folds, 1000 full-batch Adam epochs (lr 0.01), 10 -> 32 -> 7, sigmoid hidden and
output units, MSE against one-hot targets, inputs normalised per fold. Timed side by side
in one run, single-threaded (threadpoolctl for NumPy's BLAS, torch.set_num_threads(1)):

(a) ``bpnet.cross_validate``, float32 (its default): all folds as one stack, with train
    and test loss and accuracy curves for every fold and epoch;
(b) the same in float64;
(c) a per-fold PyTorch loop (``nn.Sequential`` + ``torch.optim.Adam``, what a user writes;
    no curves), float32 and float64;
(d) scikit-learn ``MLPClassifier`` per fold, full batch (its loss is softmax cross-entropy),
    float64 and float32 (it computes in its inputs' dtype);
(e) the strongest peer: all 20 folds as one batched PyTorch float32 program,
    ``torch.baddbmm`` over a (folds, rows, features) block, training rows selected by
    per-row weights, one full-batch ``torch.optim.Adam`` (benchmarks/_torch_contenders.py);
(f) (e) with its forward, loss and backward under ``torch.compile`` (inductor); the
    compilation is timed apart (``compile_seconds_f``), not in (f)'s time.

Each contender runs once untimed on the timed shapes for 3 epochs (warm-up: PyTorch's
first calls cost seconds, (f) compiles there), then ``--repeats`` times interleaved; the
median is reported. One JSON line with the times, each one's ratio to (a) (``ratio_to_a``:
above 1, bpnet is that much faster), the mean test accuracies, the load average at the
start and end, the BLAS kernel (threadpoolctl) and a ``roofline`` (benchmarks/_roofline.py):
the protocol's FLOPs, bpnet's GFLOP/s, the measured single-core GEMM rate on bpnet's own
shapes, the elementwise floor (one ``tanh`` over the hidden block per epoch) and bpnet's
time over that floor. Targets (issue 26, idle machine, on both the SkylakeX and the
Haswell OpenBLAS kernels): (e) / (a) >= 2, (c) float32 / (a) >= 5, (a) within 2x of the
floor. Then, unless ``--quick``, one JSON line per part of an epoch (cProfile,
``--profile-epochs``), and unless ``--no-scaling``, one per point of a scaling table: n in
{675, 6750, 67500} synthetic rows x K in {5, 20} folds, the time per epoch and the peak
memory (tracemalloc) of ``bpnet.train``.

The kernel: OpenBLAS picks one for the processor unless ``OPENBLAS_CORETYPE`` forces it
(benchmarks/_machine.py). To measure both, run once per kernel, each in its own command:

    OPENBLAS_CORETYPE=SkylakeX python benchmarks/bench_kfold.py --no-scaling
    OPENBLAS_CORETYPE=Haswell python benchmarks/bench_kfold.py --no-scaling

and check ``blas_kernel`` in each line (a processor without AVX-512 cannot run SkylakeX).

Run:  python benchmarks/bench_kfold.py [--quick] [--data SFEW.xlsx] [--repeats 3]
      [--no-compile] [--no-scaling] [--profile-epochs 1000]

Last results: docs/speed.rst, each with its machine, kernel and load average. Idle, AMD
EPYC, 2026-12-02, --no-scaling --repeats 3: Haswell kernel (e)/(a) 2.36x, (c)/(a) 5.75x,
(a) 2.28x its floor; SkylakeX 2.34x, 6.65x, 2.72x. Before
issue 26 (2026-11-28, idle Xeon, SkylakeX kernel, SFEW.xlsx, --repeats 3): (a) 2.64 s,
(b) 6.04 s, (c) 17.83 s / 21.59 s, (d) 14.65 s; torch float32 / (a) 6.75x.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
import tracemalloc
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from _data import load_features, synthetic_features  # benchmarks/_data.py
from _machine import blas, load_average  # benchmarks/_machine.py
from _roofline import profile, roofline  # benchmarks/_roofline.py
from _torch_contenders import (  # benchmarks/_torch_contenders.py
    COMPILE_SECONDS,
    run_torch_batched,
    run_torch_compiled,
    run_torch_loop,
)
from threadpoolctl import threadpool_limits

import bpnet
from bpnet.preprocessing import Normalizer
from bpnet.splits import fold_masks, stratified_kfold
from bpnet.training import Curves, Rows


@dataclass(frozen=True)
class Config:
    folds: int = 20
    epochs: int = 1000
    hidden: int = 32
    lr: float = 0.01
    repeats: int = 3
    seed: int = 0
    scaling_epochs: int = 5
    scaling_budget: float = 2e7  # rows x folds x epochs timed per point


def run_bpnet(X, y, splits, cfg: Config, dtype: str, epochs: int):
    res = bpnet.cross_validate(X, y, splits, n_hidden=cfg.hidden, epochs=epochs, lr=cfg.lr,
                               dtype=dtype, random_state=cfg.seed)
    return float(np.mean(res.fold_test_accuracy))


def run_sklearn(X, y, splits, cfg: Config, dtype: str, epochs: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    accs = []
    for k, (tr, te) in enumerate(splits):
        norm = Normalizer().fit(X[tr])
        clf = MLPClassifier((cfg.hidden,), activation="logistic", solver="adam",
                            learning_rate_init=cfg.lr, batch_size=len(tr), max_iter=epochs,
                            shuffle=False, tol=0.0, n_iter_no_change=epochs + 1,
                            random_state=cfg.seed + k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # float32 inputs: scikit-learn trains in float32 (its weights follow the data)
            clf.fit(norm.transform(X[tr]).astype(dtype), y[tr])
        accs.append(float(clf.score(norm.transform(X[te]).astype(dtype), y[te])))
    return float(np.mean(accs))


CONTENDERS = {
    "a_bpnet_float32": (run_bpnet, "float32"),
    "b_bpnet_float64": (run_bpnet, "float64"),
    "c_torch_float32": (run_torch_loop, "float32"),
    "c_torch_float64": (run_torch_loop, "float64"),
    "d_sklearn_float64": (run_sklearn, "float64"),
    "d_sklearn_float32": (run_sklearn, "float32"),
    "e_torch_batched_float32": (run_torch_batched, "float32"),
    "f_torch_compiled_float32": (run_torch_compiled, "float32"),
}


def compare(X, y, cfg: Config, source: str, skip: tuple = ()) -> dict:
    splits = stratified_kfold(y, cfg.folds, seed=cfg.seed)
    contenders = {k: v for k, v in CONTENDERS.items() if k not in skip}
    times = {name: [] for name in contenders}
    accuracy = {}
    # warm-up on the timed shapes, a few epochs: first-call costs (and torch.compile's
    # compilation, reported apart) are not timed
    for fn, dtype in contenders.values():
        fn(X, y, splits, cfg, dtype, 3)
    for _ in range(cfg.repeats):  # interleaved, so machine noise hits every contender alike
        for name, (fn, dtype) in contenders.items():
            t0 = time.perf_counter()
            accuracy[name] = fn(X, y, splits, cfg, dtype, cfg.epochs)
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(t) for name, t in times.items()}
    a, b = med["a_bpnet_float32"], med["b_bpnet_float64"]
    line = {
        "bench": "kfold", "data": source, "folds": cfg.folds, "epochs": cfg.epochs,
        "hidden": cfg.hidden, "repeats": cfg.repeats,
        "seconds": {k: round(v, 3) for k, v in med.items()},
        "seconds_each_repeat": {k: [round(t, 3) for t in v] for k, v in times.items()},
        # each contender's time over bpnet float32's: above 1, bpnet is that many times faster
        "ratio_to_a": {k: round(v / a, 2) for k, v in med.items()},
        "torch32_over_a": round(med["c_torch_float32"] / a, 2),
        "torch64_over_b": round(med["c_torch_float64"] / b, 2),
        "mean_test_accuracy": {k: round(v, 4) for k, v in accuracy.items()},
        "targets": {"e_over_a >= 2": None, "c_torch_float32_over_a >= 5": None},
    }
    if "e_torch_batched_float32" in med:
        line["batched_torch_over_a"] = round(med["e_torch_batched_float32"] / a, 2)
        line["targets"]["e_over_a >= 2"] = line["batched_torch_over_a"] >= 2
    line["targets"]["c_torch_float32_over_a >= 5"] = line["torch32_over_a"] >= 5
    if COMPILE_SECONDS:
        line["compile_seconds_f"] = round(sum(COMPILE_SECONDS.values()), 2)
    line["roofline"] = roofline(cfg.folds, len(y), X.shape[1], cfg.hidden, int(y.max()) + 1,
                                cfg.epochs, a)
    return line


def scaling(cfg: Config) -> list[dict]:
    """Time per epoch and peak traced memory of bpnet.train for n rows x K folds (float32).

    Timed without tracemalloc (it slows every allocation); the peak memory is taken from a
    second, traced run of two epochs.
    """
    rows = []
    for n in (675, 6750, 67500):
        X, y = synthetic_features(n, np.random.default_rng(1))
        for K in (5, 20):
            splits = stratified_kfold(y, K, seed=0)
            train_m, test_m = fold_masks(splits, n)
            Xs = np.stack([Normalizer().fit(X[m]).transform(X) for m in train_m])
            net = bpnet.BPNetwork(10, cfg.hidden, 7, dtype=np.float32, seed=0, n_models=K)
            opt = bpnet.Adam(net.params, lr=cfg.lr)

            def run(epochs, net=net, Xs=Xs, y=y, opt=opt, train_m=train_m, test_m=test_m):
                bpnet.train(net, Rows(Xs, y, train_m, {"test": test_m}), opt, epochs,
                            [Curves()])

            epochs = max(cfg.scaling_epochs, int(cfg.scaling_budget // (n * K)))
            run(1)
            t0 = time.perf_counter()
            run(epochs)
            seconds = (time.perf_counter() - t0) / epochs
            tracemalloc.start()
            run(2)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            rows.append({"bench": "kfold_scaling", "n": n, "folds": K, "n_times_K": n * K,
                         "epochs_timed": epochs, "ms_per_epoch": round(seconds * 1e3, 3),
                         "ns_per_row_per_fold": round(seconds * 1e9 / (n * K), 1),
                         "peak_mib": round(peak / 2**20, 1),
                         "bytes_per_row_per_fold": round(peak / (n * K))})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="SFEW.xlsx (default: ../shared/data/sfew, else synthetic)")
    parser.add_argument("--repeats", type=int, default=Config.repeats)
    parser.add_argument("--epochs", type=int, default=Config.epochs)
    parser.add_argument("--quick", action="store_true",
                        help="100 epochs, 1 repeat, no scaling, no profile (checks that it runs)")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip (f), torch.compile (it needs a C++ compiler)")
    parser.add_argument("--profile-epochs", type=int, default=1000,
                        help="epochs of the cProfile run that splits an epoch into parts (0: none)")
    args = parser.parse_args(argv)
    cfg = Config(repeats=1 if args.quick else args.repeats, epochs=100 if args.quick else args.epochs)
    import sklearn.neural_network  # noqa: F401  (its BLAS is loaded before the limit below)
    import torch

    torch.set_num_threads(1)
    load = load_average()
    with threadpool_limits(limits=1):
        X, y, source = load_features(args.data, "bench_kfold")
        skip = ("f_torch_compiled_float32",) if args.no_compile else ()
        line = compare(X, y, cfg, source, skip)
        env = {"numpy": np.__version__, "torch": torch.__version__, "threads": 1,
               "load_average_at_start": load, "load_average_at_end": load_average(), **blas()}
        print(json.dumps({**line, **env, "config": asdict(cfg)}), flush=True)
        if not args.quick and args.profile_epochs:
            splits = stratified_kfold(y, cfg.folds, seed=cfg.seed)
            for row in profile(X, y, splits, cfg.hidden, cfg.lr, args.profile_epochs, cfg.seed):
                print(json.dumps(row), flush=True)
        if not (args.quick or args.no_scaling):
            for row in scaling(cfg):
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
