"""Multi-GPU and multi-node training through PyTorch's own engine (torch.distributed + DDP).

Launch with ``torchrun`` (it sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``)::

    torchrun --nproc_per_node=8 -m resnet_fer train --epochs 60            # one node
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d \\
        --rdzv-endpoint=HOST:29500 -m resnet_fer train --out /shared/run   # two nodes

Every rank holds the (small) image set on its own device; each global batch is sharded
across the ranks, DistributedDataParallel averages the gradients, and rank 0 alone writes
checkpoints and reports (multi-node resume needs ``--out`` on a shared file system).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistInfo", "all_reduce_sum", "barrier", "current", "init_from_env", "main_succeeded",
           "sync_buffers"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size`` (1 and 0 without distribution)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """True on the rank that writes files and prints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def current() -> DistInfo:
    """The process group's view, or the single-process default when none is initialised."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistInfo()


def init_from_env(device: str) -> tuple[DistInfo, torch.device]:
    """Join the process group described by torchrun's environment, if any.

    Parameters
    ----------
    device : {"cuda", "cpu"} or a full device string
        ``"cuda"`` becomes ``cuda:LOCAL_RANK`` under torchrun (NCCL backend); the CPU uses gloo.

    Returns
    -------
    DistInfo, torch.device
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local_rank if world > 1 else torch.cuda.current_device())
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return current(), dev


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    if current().enabled:
        dist.barrier()


def main_succeeded(ok: bool, device: torch.device) -> bool:
    """Rank 0's ``ok`` on every rank; a barrier too (returns ``ok`` without a process group).

    Rank 0 passes whether its work (opening the output folder, decoding the images) succeeded;
    the others wait here for that word, so when it failed they stop instead of waiting forever
    for a rank that has already reported the error and left.
    """
    if not current().enabled:
        return ok
    flag = torch.tensor([int(ok)], device=device)  # NCCL wants the tensor on the rank's GPU
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over the ranks, in place (no-op without a process group)."""
    if current().enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def sync_buffers(model: nn.Module) -> None:
    """Copy rank 0's BatchNorm running statistics to every rank.

    DDP broadcasts buffers at the start of each forward, so after the last step of an
    epoch every rank holds its own statistics; evaluation and checkpoints need one set.
    """
    if current().enabled:
        for buf in model.buffers():
            dist.broadcast(buf, src=0)
