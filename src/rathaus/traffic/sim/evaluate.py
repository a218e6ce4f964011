"""Evaluate several controllers on a scenario, in parallel processes."""

from __future__ import annotations

import multiprocessing
import queue as queues
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..control.model import Intersection
from ..control.observe import LaneReading
from ..control.timetable import Calendar
from .harness import ALL_CONTROLLERS, DEFAULT_SEED, GivenPlans, RunResult, simulate
from .scenario import BUILTINS, Scenario, builtin_net

#: Seconds :func:`simulate_isolated` waits for a message before it checks that its
#: simulation process still lives.
POLL = 1.0

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


class SimulationCrashed(RuntimeError):
    """The process running a simulation died without a result (killed, out of memory,
    a crash inside SUMO)."""


def _isolated(
    out: Any,
    scenario: Scenario,
    controller: str,
    cache_dir: Path,
    seconds: float | None,
    seed: int,
    step_every: float | None,
    plans: Mapping[str, GivenPlans] | None = None,
    models: Mapping[str, Intersection] | None = None,
    calendar: Calendar | None = None,
) -> None:
    """Body of :func:`simulate_isolated`'s process: run, and send progress, the
    digital-twin steps asked for, and the result or the error through ``out``."""
    due = [0.0]

    def step(now: float, states: dict[str, str], readings: dict[str, LaneReading]) -> None:
        if step_every is not None and now >= due[0]:
            due[0] = now + step_every
            out.put(("step", (now, states, readings)))

    try:
        result = simulate(
            scenario,
            controller,
            cache_dir=cache_dir,
            seconds=seconds,
            progress=lambda share: out.put(("progress", share)),
            on_step=step if step_every is not None else None,
            seed=seed,
            plans=plans,
            models=models,
            calendar=calendar,
        )
    except Exception as error:  # reported to the caller, who decides
        out.put(("error", f"{type(error).__name__}: {error}"))
    else:
        out.put(("result", result))


def simulate_isolated(
    scenario: Scenario,
    controller: str,
    *,
    cache_dir: Path,
    seconds: float | None = None,
    progress: Callable[[float], None] | None = None,
    on_step: Callable[[float, dict[str, str], Mapping[str, LaneReading]], None] | None = None,
    step_every: float = 10.0,
    seed: int = DEFAULT_SEED,
    plans: Mapping[str, GivenPlans] | None = None,
    models: Mapping[str, Intersection] | None = None,
    calendar: Calendar | None = None,
) -> RunResult:
    """:func:`~.harness.simulate` in a fresh process of its own.

    libsumo keeps static state across simulations in one process, and SUMO's results
    then depend on what ran there before (seen on SUMO's Ingolstadt game network: the
    same run gave 449.6 s or 456.8 s of delay after other runs, not reproducibly). A
    long-lived worker that runs one simulation after another must therefore not run them
    itself. ``progress`` and ``on_step`` are called here, in the caller's process;
    ``on_step`` every ``step_every`` simulated seconds. An error inside the simulation is
    raised here as :class:`RuntimeError` with its message; a process that dies without a
    result raises :class:`SimulationCrashed`.
    """
    if controller not in ALL_CONTROLLERS:
        raise ValueError(f"Unknown controller {controller!r}.")
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(
        target=_isolated,
        args=(
            out,
            scenario,
            controller,
            cache_dir,
            seconds,
            seed,
            step_every if on_step is not None else None,
            dict(plans) if plans else None,
            dict(models) if models else None,
            calendar,
        ),
        name=f"rathaus-sumo-{scenario.name}-{controller}",
        daemon=True,
    )
    process.start()
    try:
        while True:
            try:
                kind, payload = out.get(timeout=POLL)
            except queues.Empty:
                if not process.is_alive():
                    raise SimulationCrashed(
                        f"The simulation process of {scenario.name}/{controller} ended "
                        f"without a result (exit code {process.exitcode})."
                    ) from None
                continue
            if kind == "progress":
                if progress is not None:
                    progress(payload)
            elif kind == "step":
                if on_step is not None:
                    on_step(*payload)
            elif kind == "error":
                raise RuntimeError(payload)
            else:
                result: RunResult = payload
                return result
    finally:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
        out.close()


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
    # libsumo keeps some static state across simulations in one process, so every run
    # gets a fresh process, also with one worker (run after others in one process,
    # cologne1's delay-based baseline came out 18.6 s instead of 19.1 s)
    if len(jobs) <= 1:
        return [
            simulate_isolated(
                scenario,
                controller,
                cache_dir=cache_dir,
                seconds=seconds,
                progress=_reporter(progress, scenario.name, controller),
                seed=seed,
            ).as_dict()
            for scenario, controller in jobs
        ]
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
