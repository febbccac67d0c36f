"""Holding a task to its share of CPU threads (BLAS/OpenMP pools, torch, OpenMM via TaskContext)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "OPENMM_CPU_THREADS")


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that cap native thread pools started after they are set."""
    return {name: str(threads) for name in THREAD_VARIABLES}


@contextlib.contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """Cap already-loaded BLAS/OpenMP pools, torch and the variables read by engines started inside."""
    from threadpoolctl import threadpool_limits

    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(thread_environment(threads))
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if torch is not None and torch_threads is not None:
            torch.set_num_threads(torch_threads)
