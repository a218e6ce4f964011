"""SUMO scenarios (a folder with ``*.sumocfg``, network and routes) and built-in programs."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

#: SUMO's own programs, run as comparison baselines.
BUILTINS = ("sumo_static", "sumo_actuated", "sumo_delay_based")


class ScenarioError(ValueError):
    """A scenario folder that cannot be simulated."""


@dataclass(frozen=True)
class Scenario:
    name: str
    folder: Path
    config: Path
    net: Path
    routes: tuple[Path, ...]
    additional: tuple[Path, ...]
    begin: float
    end: float


def _value(root: etree._Element, path: str) -> str | None:
    node = root.find(path)
    return node.get("value") if node is not None else None


def scenario_load(folder: Path | str) -> Scenario:
    """Read the scenario in ``folder`` (its single ``.sumocfg``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioError(f"Scenario folder {folder} does not exist.")
    configs = sorted(folder.glob("*.sumocfg"))
    if len(configs) != 1:
        raise ScenarioError(f"{folder} must contain exactly one .sumocfg file.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.parse(str(configs[0]), parser).getroot()
    except etree.XMLSyntaxError as exc:
        raise ScenarioError(f"{configs[0].name} is not well-formed XML: {exc}") from exc

    def files(path: str) -> tuple[Path, ...]:
        raw = _value(root, path) or ""
        found = tuple(
            folder / part.strip() for part in raw.replace(" ", ",").split(",") if part.strip()
        )
        for f in found:
            if not f.resolve().is_relative_to(folder.resolve()) or not f.is_file():
                raise ScenarioError(f"{f.name} is missing or outside the scenario folder.")
        return found

    nets = files("input/net-file")
    if len(nets) != 1:
        raise ScenarioError("The configuration must name exactly one network file.")
    routes = files("input/route-files")
    if not routes:
        raise ScenarioError("The configuration names no route file.")
    try:
        begin = float(_value(root, "time/begin") or 0)
        end = float(_value(root, "time/end") or 3600)
    except ValueError as exc:
        raise ScenarioError("Begin and end time must be numbers.") from exc
    if end <= begin:
        raise ScenarioError("The end time must lie after the begin time.")
    for route_file in routes:
        try:
            for _, elem in etree.iterparse(
                str(route_file), events=("end",), tag="flow", resolve_entities=False
            ):
                flow_departures(elem, begin, begin)  # refuses what cannot be planned
                elem.clear()
        except etree.XMLSyntaxError as exc:
            raise ScenarioError(f"{route_file.name} is not well-formed XML: {exc}") from exc
    return Scenario(
        name=folder.name,
        folder=folder,
        config=configs[0],
        net=nets[0],
        routes=routes,
        additional=files("input/additional-files"),
        begin=begin,
        end=end,
    )


#: SUMO's default end of a flow without ``end``: 24 hours after its begin.
FLOW_DEFAULT_SPAN = 86400.0


def _seconds(value: str | None, what: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise ScenarioError(f"{what} {value!r} is not a number of seconds.") from exc
    if number != number or number < 0:
        raise ScenarioError(f"{what} {value!r} is not a number of seconds.")
    return number


def flow_departures(flow: etree._Element, begin: float, until: float) -> list[tuple[str, float]]:
    """The vehicles (SUMO's ids ``<flow id>.<n>``) and planned departures of a route
    file's ``<flow>`` before ``until``, for flows with a fixed ``period``, ``vehsPerHour``
    or ``number``; random flows (``probability``, ``period="exp(…)"``) have no planned
    departures and are refused."""
    name = flow.get("id", "")
    if flow.get("probability") is not None or "exp(" in (flow.get("period") or ""):
        raise ScenarioError(
            f"Flow {name!r} departs at random; expand it into vehicles first "
            "(e.g. with duarouter), so that vehicles that never depart can be counted."
        )
    start = _seconds(flow.get("begin"), f"Flow {name!r}: begin")
    if start is None:
        start = begin
    end = _seconds(flow.get("end"), f"Flow {name!r}: end")
    number = _seconds(flow.get("number"), f"Flow {name!r}: number")
    period = _seconds(flow.get("period"), f"Flow {name!r}: period")
    hourly = _seconds(flow.get("vehsPerHour"), f"Flow {name!r}: vehsPerHour")
    if end is None:
        end = start + FLOW_DEFAULT_SPAN
    if period is None and hourly:
        period = 3600.0 / hourly
    if period is None and number:
        period = (end - start) / number
    if not period or period <= 0:
        raise ScenarioError(f"Flow {name!r} has no period, vehsPerHour or number.")
    count = int(number) if number is not None else None
    found: list[tuple[str, float]] = []
    k = 0
    while (count is None or k < count) and start + k * period < min(end, until):
        found.append((f"{name}.{k}", start + k * period))
        k += 1
    return found


def sumo_binary(name: str) -> str:
    """Path of a SUMO tool (``sumo``, ``netconvert``) from the installed eclipse-sumo."""
    found = shutil.which(
        name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if found:
        return found
    try:
        import sumo  # type: ignore[import-untyped]  # the eclipse-sumo wheel

        candidate = Path(sumo.SUMO_HOME) / "bin" / name
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    raise ScenarioError(f"The SUMO tool {name!r} is not installed (extra 'traffic').")


def builtin_net(scenario: Scenario, kind: str, cache_dir: Path) -> Path:
    """The scenario's network with its traffic lights rebuilt by netconvert as ``kind``
    (``actuated`` or ``delay_based``); cached by content hash of the input network."""
    if kind not in ("actuated", "delay_based"):
        raise ScenarioError(f"Unknown built-in program type {kind!r}.")
    digest = hashlib.sha256(scenario.net.read_bytes()).hexdigest()[:16]
    target = cache_dir / f"{scenario.name}-{kind}-{digest}.net.xml"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp.xml")
    cmd = [
        sumo_binary("netconvert"),
        "--sumo-net-file",
        str(scenario.net),
        "--tls.rebuild",
        "--tls.default-type",
        kind,
        "--no-warnings",
        "--output-file",
        str(tmp),
    ]
    # arguments are our own paths and fixed options, no shell
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise ScenarioError(f"netconvert failed: {done.stderr.strip()[:500]}")
    tmp.replace(target)
    return target
