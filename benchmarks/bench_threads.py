"""How many CPU threads should ``fer-compare`` give torch? CPU time and wall time, idle and busy.

Claim
    ``fer-compare``'s default thread count (:func:`resnet_fer.compare.default_threads`) costs at
    most 1.3x the CPU time of the best ``--threads`` choice, both on an idle machine and with
    another process busy on every core (issue: "threads that hold up under contention").

How it is measured
    Each measurement is a fresh Python process that trains the ResNet of ``fer-compare``'s
    default run (the synthetic-faces recipe: 48 px, width 32, batch 32, on the 420 default
    synthetic faces and its 5-fold split) for ``--epochs`` epochs on ``--folds`` of the folds,
    with ``torch.set_num_threads(t)`` for t in {the default, 1, ..., cores}; the ResNet is
    90 % of the default run's time (docs/compare.rst). CPU time is the child's user + system
    time (``resource.getrusage(RUSAGE_CHILDREN)``), wall time is the parent's clock. "busy"
    starts one spinning process per core (pure Python, ``os.nice(0)``) for the duration of each
    measurement. Settings are interleaved within each repeat and the medians are reported; the
    1-minute load average is printed before each condition. ``--full`` times the real default
    command, ``fer-compare --threads t``, instead of the slice (about 2 minutes per run idle).

Prints one JSON line per (condition, threads) and a summary line per condition with the ratio
of the default's median CPU time to the best setting's.

Last measured: see docs/compare.rst, "Threads" (the machine, its load, and the figures).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

SLICE = """
import sys, time, torch
from bpnet.splits import stratified_kfold
from resnet_fer.compare import resnet_recipe
from resnet_fer.config import TrainConfig
from resnet_fer.data import synthetic_images
from resnet_fer.train import cross_validate
threads, epochs, folds = (int(a) for a in sys.argv[1:4])
torch.set_num_threads(threads)
recipe, _, _ = resnet_recipe("cpu", synthetic=True, quick=False)
config = TrainConfig.from_dict({**recipe, "epochs": epochs, "seed": 0})
faces = synthetic_images(n_per_class=60, size=64, seed=0)
splits = stratified_kfold(faces.y, 5, seed=0)[:folds]
cross_validate(faces.images, faces.y, splits, config, "cpu", progress=False)
"""


@dataclass(frozen=True)
class Config:
    epochs: int = 2
    folds: int = 1
    repeats: int = 3
    full: bool = False
    conditions: tuple[str, ...] = ("idle", "busy")
    settings: tuple[str, ...] = ()  # default: "default" and every count from 1 to the cores


def _spin() -> None:  # one busy core
    while True:
        pass


def _measure(threads: int, cfg: Config) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process."""
    if cfg.full:
        out = tempfile.mkdtemp(prefix="bench-threads-")
        cmd = [sys.executable, "-m", "resnet_fer.compare", "--threads", str(threads),
               "--no-progress", "--out", out]
    else:
        cmd = [sys.executable, "-c", SLICE, str(threads), str(cfg.epochs), str(cfg.folds)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def run(cfg: Config) -> list[dict]:
    from resnet_fer.compare import default_threads

    cores = os.cpu_count() or 1
    lines = []
    for condition in cfg.conditions:
        spinners = []
        if condition == "busy":
            spinners = [mp.Process(target=_spin, daemon=True) for _ in range(cores)]
            for p in spinners:
                p.start()
            time.sleep(1.0)
        try:
            chosen = default_threads()  # what fer-compare would pick right now
            settings = {"default": chosen, **{str(t): t for t in range(1, cores + 1)}}
            if cfg.settings:
                settings = {k: v for k, v in settings.items() if k in cfg.settings}
            load = os.getloadavg()[0]
            times: dict[str, list[tuple[float, float]]] = {k: [] for k in settings}
            for _ in range(cfg.repeats):  # interleaved: each repeat runs every setting once
                for key, t in settings.items():
                    times[key].append(_measure(t, cfg))
        finally:
            for p in spinners:
                p.terminate()
        med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v))
               for k, v in times.items()}
        for key, (cpu, wall) in med.items():
            lines.append({"bench": "threads", "condition": condition, "setting": key,
                          "threads": settings[key], "cpu_s": round(cpu, 2),
                          "wall_s": round(wall, 2), "load1_before": round(load, 2),
                          "repeats": cfg.repeats, **asdict(cfg)})
        others = [k for k in med if k != "default"]
        if "default" not in med or not others:
            continue
        best = min(others, key=lambda k: med[k][0])
        lines.append({"bench": "threads", "condition": condition, "summary": True,
                      "default_threads": chosen, "best_setting": best,
                      "default_cpu_over_best": round(med["default"][0] / med[best][0], 3),
                      "default_wall_over_fastest": round(
                          med["default"][1] / min(w for _, w in med.values()), 3),
                      "cores": cores, "load1_before": round(load, 2)})
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=Config.epochs)
    ap.add_argument("--folds", type=int, default=Config.folds)
    ap.add_argument("--repeats", type=int, default=Config.repeats)
    ap.add_argument("--full", action="store_true", help="time the real default fer-compare run")
    ap.add_argument("--conditions", default="idle,busy")
    ap.add_argument("--settings", default="", help="comma-separated subset of default,1,2,...")
    ap.add_argument("--quick", action="store_true", help="1 epoch, 1 repeat: a smoke test")
    a = ap.parse_args(argv)
    cfg = Config(epochs=1 if a.quick else a.epochs, folds=a.folds,
                 repeats=1 if a.quick else a.repeats, full=a.full,
                 conditions=tuple(a.conditions.split(",")),
                 settings=tuple(x for x in a.settings.split(",") if x))
    for line in run(cfg):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
