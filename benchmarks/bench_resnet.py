"""Claim: resnet_fer trains at >= 95 % of the speed of the bare model on random on-device data,
and the 5-fold x 50-epoch SFEW protocol takes under 20 s of training on one H100/H200.

Measured: training images/s (forward, backward, AdamW step; augmentation included where there
is any), one run, three pipelines side by side at 224 px, batch 256, ResNet-18 size:

(a) the usual torchvision pipeline: ImageFolder + DataLoader(workers) + CPU transforms
    (RandomResizedCrop, flip, rotation, ColorJitter, Normalize), torchvision's resnet18, fp32;
(b) resnet_fer's pipeline: the uint8 set resident on the device, the batched on-device
    augmentation with mixup/cutmix (compiled), bf16 autocast, channels_last, compiled model,
    fused AdamW, no host synchronisation inside an epoch (``Engine.train_epoch``);
(c) the same compiled model on a random bf16 channels_last batch already on the device.

Also: the augmentation alone (eager vs compiled = the fused Triton kernel inductor generates),
(b) with batches streamed from pinned host memory, the peak device memory of (b), and the
model FLOP utilisation (FLOPs counted by ``torch.utils.flop_counter``; training = 3 x forward).
``--protocol`` also times ``cross_validate`` for the 5-fold x 50-epoch protocol. CUDA timings use
CUDA events after a warm-up. One JSON line per measurement group.

Run (GPU):  python benchmarks/bench_resnet.py --data ../shared/data/sfew/images --protocol
Run (CPU):  python benchmarks/bench_resnet.py --device cpu --quick

Last result: not yet measured on a GPU (see docs/resnet.rst). Reference figures from the
issue, on an H200 with torchvision's resnet18: (a) 1,220, a GPU-resident bf16 +
channels_last + compile loop 14,220, (c) 17,610 images/s.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from resnet_fer.config import TrainConfig
from resnet_fer.data import ImageStore, load_image_folder, synthetic_images
from resnet_fer.engine import Engine, build_optimizer, make_scheduler
from resnet_fer.train import build_model, cross_validate

#: Dense bf16 tensor-core peaks (FLOP/s) for the model FLOP utilisation.
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


@dataclass(frozen=True)
class Config:
    device: str = "cuda"
    size: int = 224
    batch: int = 256
    width: int = 64
    stem: str = "imagenet"
    steps: int = 30
    warmup: int = 10
    workers: int = 8
    data: str | None = None
    synthetic_per_class: int = 60
    compile: bool = True
    protocol: bool = False
    protocol_epochs: int = 50
    protocol_folds: int = 5
    protocol_batch: int = 64


QUICK = dict(size=64, batch=32, width=16, steps=3, warmup=1, workers=1, synthetic_per_class=10,
             protocol_epochs=2, protocol_folds=2, protocol_batch=16)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _steps_per_s(step, cfg: "Config", device: torch.device) -> float:
    """Images/s of ``step()`` (one optimiser step on ``cfg.batch`` images), after a warm-up."""
    for _ in range(cfg.warmup):
        step()
    _sync(device)
    return cfg.steps * cfg.batch / _timed(lambda: [step() for _ in range(cfg.steps)], device)


def _timed(fn, device: torch.device) -> float:
    """Seconds taken by ``fn()`` (CUDA events on the GPU, perf_counter on the CPU)."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _data(cfg: Config, tmp: Path):
    """The decoded set for (b)/(c) and an image folder on disk for (a)."""
    if cfg.data:
        return load_image_folder(cfg.data, size=cfg.size, cache_dir=tmp / "cache"), Path(cfg.data)
    from bpnet.data.synthetic import synthetic_faces, write_image_folder

    data = synthetic_images(cfg.synthetic_per_class, size=cfg.size)
    faces = synthetic_faces(cfg.synthetic_per_class, size=cfg.size)
    folder = write_image_folder(faces, tmp / "img", "jpg")
    return data, folder


def bench_torchvision(cfg: Config, folder: Path, device: torch.device) -> float:
    """(a) ImageFolder + DataLoader + CPU transforms, fp32 torchvision resnet18."""
    import torchvision
    from torchvision import transforms as T

    tf = T.Compose([T.RandomResizedCrop(cfg.size, scale=(0.35, 1.0)), T.RandomHorizontalFlip(),
                    T.RandomRotation(10), T.ColorJitter(0.3, 0.3, 0.3), T.ToTensor(),
                    T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    dataset = torchvision.datasets.ImageFolder(str(folder), transform=tf)
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.batch, shuffle=True, drop_last=True,
                                         num_workers=cfg.workers, pin_memory=device.type == "cuda",
                                         persistent_workers=cfg.workers > 0)
    if cfg.width == 64 and cfg.stem == "imagenet":
        model = torchvision.models.resnet18(num_classes=7).to(device)
    else:  # --quick: the same architecture at the narrow width that (b) and (c) use
        model = build_model(TrainConfig(width=cfg.width, stem=cfg.stem, dropout=0.0)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def batches():
        while True:
            yield from loader

    it = batches()

    def step():
        x, y = next(it)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return _steps_per_s(step, cfg, device)


def _engine(cfg: Config, images, y, device: torch.device, budget: int | None = None) -> Engine:
    tc = TrainConfig(batch_size=cfg.batch, size=cfg.size, width=cfg.width, stem=cfg.stem,
                     compile=cfg.compile, memory_budget=budget)
    store = ImageStore(images, y, device, budget)
    return Engine(build_model(tc).to(device), store, tc, 7)


def bench_resnet_fer(cfg: Config, engine: Engine) -> tuple[float, float]:
    """(b) images/s of ``Engine.train_epoch`` and peak device memory (MiB)."""
    device, n = engine.device, len(engine.store)
    opt = build_optimizer(engine.model, engine.config, device)
    sched = make_scheduler(opt, engine.config, 10 ** 6)

    def run(steps, seed):
        engine.train_epoch(opt, sched, np.resize(np.arange(n), steps * cfg.batch), (0, seed))

    run(cfg.warmup, 0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = _timed(lambda: run(cfg.steps, 1), device)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return cfg.steps * cfg.batch / seconds, peak


def bench_model_only(cfg: Config, engine: Engine) -> float:
    """(c) the same compiled model and optimiser on a fixed random batch on the device."""
    device = engine.device
    fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    x = torch.randn(cfg.batch, 3, cfg.size, cfg.size, device=device, dtype=engine.input_dtype)
    x = x.contiguous(memory_format=fmt)
    y = torch.randint(0, 7, (cfg.batch,), device=device)
    opt = build_optimizer(engine.model, engine.config, device)

    def step():
        with engine.autocast():
            loss = F.cross_entropy(engine.train_forward(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return _steps_per_s(step, cfg, device)


def bench_augment(cfg: Config, engine: Engine) -> dict:
    """Augmentation alone, eager and (on CUDA) compiled: images/s."""
    from resnet_fer.augment import sample_params

    device, out = engine.device, {}
    index = torch.arange(cfg.batch, device=engine.store.index_device) % len(engine.store)
    images, y = engine.store.gather(index)
    table = sample_params(cfg.batch, engine.config.augment, 0, device).table
    eager = engine.build_augment_fn(compiled=False)
    compiled = engine.augment_fn if device.type == "cuda" and cfg.compile else None
    for name, fn in (("eager", eager), ("compiled", compiled)):
        if fn is None:
            out[f"augment_{name}_ips"] = None
            continue
        for _ in range(3):
            fn(images, y, table)
        _sync(device)
        reps = max(cfg.steps, 10)
        seconds = _timed(lambda fn=fn, reps=reps: [fn(images, y, table) for _ in range(reps)],
                         device)
        out[f"augment_{name}_ips"] = reps * cfg.batch / seconds
    return out


def train_flops_per_image(cfg: Config) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(TrainConfig(width=cfg.width, stem=cfg.stem, size=cfg.size)).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, cfg.size, cfg.size))
    return 3.0 * counter.get_total_flops()  # backward ~ 2 x forward


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def bench_protocol(cfg: Config, data, device: torch.device) -> dict:
    """Wall time of cross_validate for the k-fold x E-epoch protocol (first fold compiles)."""
    from bpnet.splits import stratified_kfold

    tc = TrainConfig(epochs=cfg.protocol_epochs, batch_size=cfg.protocol_batch, size=cfg.size,
                     width=cfg.width, stem=cfg.stem, compile=cfg.compile)
    splits = stratified_kfold(data.y, n_splits=cfg.protocol_folds, seed=0)
    t0 = time.perf_counter()
    result = cross_validate(data.images, data.y, splits, tc, device, progress=False)
    wall = time.perf_counter() - t0
    fold_s = [f.seconds for f in result.folds]
    return {"measure": "protocol", "folds": cfg.protocol_folds, "epochs": cfg.protocol_epochs,
            "batch": cfg.protocol_batch, "wall_s": round(wall, 2),
            "fold_seconds": [round(s, 2) for s in fold_s],
            "train_s": round(sum(fold_s), 2),
            # the first fold includes torch.compile's one-off tracing; the others do not
            "train_s_excluding_compile": round(float(np.mean(fold_s[1:] or fold_s)) * len(fold_s), 2),
            "accuracy_mean": round(result.summary()["test_accuracy_mean"], 4)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in dataclasses.fields(Config):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            kind = {"int": int, "str": str}.get(str(f.type).split(" ")[0], str)
            parser.add_argument(flag, type=kind, default=f.default)
    parser.add_argument("--quick", action="store_true", help="small sizes for a CPU smoke run")
    args = vars(parser.parse_args(argv))
    quick = args.pop("quick")
    if quick:
        args.update({k: v for k, v in QUICK.items() if args[k] == getattr(Config, k)})
    cfg = Config(**args)
    device = torch.device(cfg.device)
    if device.type == "cpu":
        torch.set_num_threads(1)  # a shared CPU: one thread gives stable timings
    else:
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    with tempfile.TemporaryDirectory() as tmp:
        data, folder = _data(cfg, Path(tmp))
        a = bench_torchvision(cfg, folder, device)
        engine = _engine(cfg, data.images, data.y, device)
        b, peak = bench_resnet_fer(cfg, engine)
        c = bench_model_only(cfg, engine)
        aug = bench_augment(cfg, engine)
        del engine
        streamed = bench_resnet_fer(cfg, _engine(cfg, data.images, data.y, device, budget=0))[0]
        flops, peak_flops_ = train_flops_per_image(cfg), peak_flops(device)
        def mfu(ips):
            return None if peak_flops_ is None else round(ips * flops / peak_flops_, 4)

        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        print(json.dumps({
            "measure": "train_images_per_s", "device": name, "torch": torch.__version__,
            "config": dataclasses.asdict(cfg), "data": data.source, "n_images": len(data),
            "a_torchvision_ips": round(a, 1), "b_resnet_fer_ips": round(b, 1),
            "c_model_only_ips": round(c, 1),
            "b_over_c": round(b / c, 4), "b_over_a": round(b / a, 2), "a_over_c": round(a / c, 4),
            "b_streaming_pinned_ips": round(streamed, 1),
            **{k: v and round(v, 1) for k, v in aug.items()},
            "train_gflops_per_image": round(flops / 1e9, 3), "mfu_b": mfu(b), "mfu_c": mfu(c),
            "peak_device_memory_mib_b": peak and round(peak, 1),
            "dataset_uint8_mib": round(data.images.numel() / 2**20, 1)}), flush=True)
        if cfg.protocol:
            print(json.dumps({"device": name, **bench_protocol(cfg, data, device)}), flush=True)


if __name__ == "__main__":
    main()
