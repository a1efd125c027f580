"""DistributedDataParallel on CPU: two gloo processes must end with identical weights."""
import json
import os
import socket
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from bpnet.splits import stratified_kfold
    from resnet_fer import distributed
    from resnet_fer.data import synthetic_images
    from resnet_fer.train import TrainConfig, cross_validate

    info, device = distributed.init_from_env("cpu")
    assert info.world_size == world and info.rank == rank
    data = synthetic_images(n_per_class=4, size=16, seed=0)
    splits = stratified_kfold(data.y, n_splits=2, seed=0)[:1]
    cfg = TrainConfig(epochs=2, batch_size=8, size=16, width=4, stem="small", dropout=0.2)
    seen = []

    def save_final(epoch_info):
        seen.append(epoch_info.epoch)
        if epoch_info.epoch == epoch_info.epochs:
            torch.save(epoch_info.model.state_dict(), os.path.join(out_dir, f"rank{rank}.pt"))

    result = cross_validate(data.images, data.y, splits, cfg, device, progress=False,
                            callback=save_final)
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as handle:
        json.dump({"history": result.folds[0].curves, "epochs": seen}, handle)
    dist.destroy_process_group()


def test_two_gloo_processes_end_with_identical_weights(tmp_path):
    torch.multiprocessing.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    w0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert w0.keys() == w1.keys()
    for k in w0:
        assert torch.equal(w0[k], w1[k]), k  # parameters and BatchNorm statistics alike
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0 == r1 and r0["epochs"] == [1, 2]  # the reported curves agree across ranks too


@pytest.mark.slow
def test_torchrun_runs_the_command_line_with_ddp(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           f"--master_port={_free_port()}", "-m", "resnet_fer", "train", "--device", "cpu",
           "--epochs", "1", "--size", "16", "--width", "4", "--stem", "small",
           "--synthetic-per-class", "3", "--folds", "2", "--batch-size", "8",
           "--out", str(tmp_path), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
    assert summary["world_size"] == 2 and summary["folds"] == 2
    assert (tmp_path / "results.json").is_file()
