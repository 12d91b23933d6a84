"""Running independent jobs: in this process, over local worker processes, or as Ray tasks on a
cluster. The zoo builder's shards and the benchmark's training runs both go through
:func:`run_tasks`.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from nnenc.io.outputs import show_warning


def run_tasks(
    fn: Callable[..., Any],
    arguments: Sequence[tuple],
    workers: int = 1,
    ray_address: str | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
) -> Iterator[Any]:
    """``fn(*args)`` for every ``args`` in ``arguments``; results in the order they finish.

    Args:
        fn: a module-level function (worker processes and Ray tasks import it by name).
        workers: local worker processes (spawned: no fork after torch has started threads);
            1 runs everything in this process. Ignored with ``ray_address``.
        ray_address: run as Ray tasks on this cluster: ``"auto"``, ``"ray://HOST:PORT"``, or
            ``"local"`` to start a Ray instance here.
        num_cpus, num_gpus: what each Ray task asks of the cluster.

    Stopping the iteration (Ctrl-C, an error) drops the tasks not yet started.
    """
    if ray_address is not None:
        yield from _ray_results(fn, arguments, ray_address, num_cpus, num_gpus)
    elif workers <= 1:
        for args in arguments:
            yield fn(*args)
    else:
        yield from _pool_results(fn, arguments, workers)


PARENT_POLL_S = 1.0
"""How often a worker checks that the process that started it is still alive."""


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker as soon as its parent has died.

    A killed parent (``kill -9``, an out-of-memory kill) runs no cleanup, and its workers would
    otherwise train on as orphans, holding the multiprocessing resource tracker alive with them.
    A daemon thread polls the parent pid (``PR_SET_PDEATHSIG`` would fire when the parent
    *thread* that spawned the worker ends, which in a process pool is not the parent's death).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="nnenc-parent-watch", daemon=True).start()
    warnings.showwarning = show_warning  # as the command line says them


def _pool_results(fn, arguments, workers: int) -> Iterator[Any]:
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        pending = {pool.submit(fn, *args) for args in arguments}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ray_results(fn, arguments, address: str, num_cpus: float, num_gpus: float) -> Iterator[Any]:
    import ray

    if not ray.is_initialized():
        ray.init(
            address=None if address == "local" else address,
            include_dashboard=False,
            log_to_driver=False,
        )
    task = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(fn)
    pending = [task.remote(*args) for args in arguments]
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        for ref in pending:
            ray.cancel(ref)
