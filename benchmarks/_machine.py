"""What a benchmark line says about the machine it ran on: the BLAS kernel and the load.

OpenBLAS picks a kernel for the processor (SkylakeX, Haswell, ...) unless
``OPENBLAS_CORETYPE`` forces one; ratios between contenders move with the kernel, so every
line reports the kernel threadpoolctl sees and the variables that force it. To measure
another kernel, set (or, to let OpenBLAS choose, unset) the variables for that one command:

    OPENBLAS_CORETYPE=SkylakeX python benchmarks/bench_kfold.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_kfold.py

Imported from the scripts' own folder (``benchmarks/``).
"""
from __future__ import annotations

import os

from threadpoolctl import threadpool_info


def blas() -> dict:
    """NumPy's (and SciPy's) BLAS as threadpoolctl sees them, torch's left out: library,
    version, kernel (``architecture``), threads; and the OpenBLAS variables of this run."""
    info = [i for i in threadpool_info()
            if i.get("user_api") == "blas" and "torch" not in i.get("filepath", "")]
    return {"numpy_blas": [{k: i.get(k) for k in ("internal_api", "version", "architecture",
                                                   "num_threads")} for i in info],
            "blas_kernel": ", ".join(sorted({str(i.get("architecture")) for i in info})),
            "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE",
                                                            "OPENBLAS_L2_SIZE")}}


def load_average() -> list | None:
    """The 1, 5 and 15 minute load averages: a figure is only fair on an idle machine."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
