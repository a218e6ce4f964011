"""Evaluate several controllers on a scenario, in parallel processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from .harness import ALL_CONTROLLERS, DEFAULT_SEED, simulate
from .scenario import BUILTINS, Scenario, builtin_net

_queue: Any = None


def _init(queue: Any) -> None:
    global _queue
    _queue = queue


def _job(
    scenario: Scenario, controller: str, cache_dir: Path, seconds: float | None, seed: int
) -> dict:
    def report(share: float) -> None:
        if _queue is not None:
            _queue.put((scenario.name, controller, share))

    return simulate(
        scenario, controller, cache_dir=cache_dir, seconds=seconds, progress=report, seed=seed
    ).as_dict()


def _reporter(
    progress: Callable[[str, str, float], None] | None, name: str, controller: str
) -> Callable[[float], None] | None:
    if progress is None:
        return None
    notify = progress
    return lambda share: notify(name, controller, share)


def controllers_expand(name: str) -> list[str]:
    """``all`` or a comma-separated list of controller names, checked."""
    names = (
        list(ALL_CONTROLLERS)
        if name == "all"
        else [n.strip() for n in name.split(",") if n.strip()]
    )
    unknown = [n for n in names if n not in ALL_CONTROLLERS]
    if unknown or not names:
        raise ValueError(f"Unknown controller(s): {', '.join(unknown) or '(none)'}.")
    return names


def evaluate(
    jobs: Sequence[tuple[Scenario, str]],
    *,
    cache_dir: Path,
    seconds: float | None = None,
    workers: int = 2,
    progress: Callable[[str, str, float], None] | None = None,
    seed: int = DEFAULT_SEED,
) -> list[dict]:
    """Run every (scenario, controller) job; results in the order of ``jobs``."""
    # build the netconvert networks once, before the workers race for them
    for scenario, controller in jobs:
        if controller in BUILTINS[1:]:
            builtin_net(scenario, controller.removeprefix("sumo_"), cache_dir)
    # libsumo keeps some static state (e.g. routing) across simulations in one process, so
    # only a single run may use this process; more runs get a fresh process each, also
    # with one worker (run after others in one process, cologne1's delay-based baseline
    # came out 18.6 s instead of 19.1 s)
    if len(jobs) <= 1:
        out = []
        for scenario, controller in jobs:
            report = _reporter(progress, scenario.name, controller)
            out.append(
                simulate(
                    scenario,
                    controller,
                    cache_dir=cache_dir,
                    seconds=seconds,
                    progress=report,
                    seed=seed,
                ).as_dict()
            )
        return out
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    queue = manager.Queue()
    results: dict[int, dict] = {}
    try:
        with ProcessPoolExecutor(
            max_workers=max(1, workers),
            mp_context=context,
            initializer=_init,
            initargs=(queue,),
            max_tasks_per_child=1,
        ) as pool:
            futures = {
                pool.submit(_job, scenario, controller, cache_dir, seconds, seed): i
                for i, (scenario, controller) in enumerate(jobs)
            }
            pending = set(futures)
            while pending:
                while not queue.empty():
                    name, controller, share = queue.get()
                    if progress is not None:
                        progress(name, controller, share)
                done = [f for f in pending if f.done()]
                for future in done:
                    pending.discard(future)
                    results[futures[future]] = future.result()
                if pending:
                    wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            while not queue.empty():
                name, controller, share = queue.get()
                if progress is not None:
                    progress(name, controller, share)
    finally:
        manager.shutdown()
    return [results[i] for i in range(len(jobs))]
