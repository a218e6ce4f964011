"""Discrete-event simulation of Bürgerbüro days, driven by the real calling policy
(``policy.choose_next``) and the real estimator (``estimator.estimate_calls``).

Pure Python without Django: ``rathaus buergerbuero simulate --scenario FILE --json`` and
``bench/buergerbuero.py`` run it. Every policy sees the very same visitors (arrival times,
services, durations, no-shows, drawn once per day from the scenario's seed) and the same
counters, so differences come from the policy alone. The scenario format is documented in
docs/modules/buergerbuero.md; ``scenarios/city-93k.json`` is a city of about 93,000.

Compared, in one run:

- ``weighted``: the Bürgerbüro's policy (appointments due first, starvation guard, highest
  response ratio among walk-ins; see ``policy.py``);
- ``fifo``: one first-come-first-served queue for everyone (appointment holders queue when
  they arrive), each clerk taking the oldest ticket they are skilled for;
- ``fifo_per_service``: one FIFO queue per service, counters dedicated to services in
  proportion to their work.

Wait is call time minus arrival, or minus the appointment time for appointment holders who
came early. The estimator's error is measured on the estimate given when the ticket is
drawn, against the naive ``people ahead x mean service time ÷ open counters``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rathaus.buergerbuero.estimator import (
    OpenCounter,
    estimate_calls,
    mean_absolute_error,
    naive_estimate,
)
from rathaus.buergerbuero.policy import (
    POLICY_FIFO,
    POLICY_WEIGHTED,
    Clerk,
    PolicyConfig,
    Waiting,
    choose_next,
    levelled_appointment_lanes,
)

SCENARIO_DIR = Path(__file__).parent / "scenarios"
SIMULATED_POLICIES = ("weighted", "fifo_mixed", "fifo", "fifo_per_service")
#: Baselines without an appointment system: everyone walks in at their preferred time.
WITHOUT_APPOINTMENTS = ("fifo", "fifo_per_service")
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScenarioError(ValueError):
    """The scenario file is missing something or asks for the impossible."""


@dataclass(frozen=True)
class ServiceSpec:
    key: str
    name: str
    mean_minutes: float
    cv: float
    share: float
    appointment: bool


@dataclass(frozen=True)
class CounterSpec:
    name: str
    skills: frozenset[str] | None


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    days: int
    start_weekday: int
    opening_hours: dict[int, list[tuple[float, float]]]
    counters: list[CounterSpec]
    services: list[ServiceSpec]
    visits_per_day: dict[int, float]
    hourly_profile: dict[int, float]
    appointment_share: float
    no_show_rate: float
    early_minutes_mean: float
    late_share: float
    ticket_stop_minutes: float
    slot_minutes: int
    capacity_split: str
    policy: PolicyConfig


def _minutes(value: Any, where: str) -> float:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ScenarioError(f"{where}: use a time like 08:00, not {value!r}")
    try:
        hours, minutes = int(value[:2]), int(value[3:])
    except ValueError as error:
        raise ScenarioError(f"{where}: use a time like 08:00, not {value!r}") from error
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise ScenarioError(f"{where}: {value!r} is not a time of day")
    return hours * 60.0 + minutes


def _number(data: Mapping[str, Any], key: str, where: str, low: float, high: float) -> float:
    if key not in data:
        raise ScenarioError(f"{where}: {key!r} is missing")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ScenarioError(f"{where}: {key!r} must be a number")
    if not low <= value <= high:
        raise ScenarioError(f"{where}: {key!r} must be from {low:g} to {high:g}, not {value:g}")
    return float(value)


def _optional(
    data: Mapping[str, Any], key: str, default: float, where: str, low: float, high: float
) -> float:
    return _number(data, key, where, low, high) if key in data else default


def _choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise ScenarioError(f"{key!r} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def _weekday(key: str, where: str) -> int:
    if key not in WEEKDAY_NAMES:
        raise ScenarioError(f"{where}: {key!r} is not a weekday (use {', '.join(WEEKDAY_NAMES)})")
    return WEEKDAY_NAMES.index(key)


def scenario_parse(data: Any) -> Scenario:
    """Check a scenario (as loaded from JSON) and build it; ``ScenarioError`` names the
    first problem found."""
    if not isinstance(data, dict):
        raise ScenarioError("the scenario must be a JSON object")
    name = data.get("name", "scenario")
    if not isinstance(name, str) or len(name) > 200:
        raise ScenarioError("'name' must be a text of at most 200 characters")
    seed = int(_number(data, "seed", "scenario", 0, 2**32 - 1))
    days = int(_number(data, "days", "scenario", 1, 366))
    start_weekday = _weekday(data.get("start_weekday", "mon"), "start_weekday")

    hours_raw = data.get("opening_hours")
    if not isinstance(hours_raw, dict) or not hours_raw:
        raise ScenarioError("'opening_hours' must map weekdays to lists of [opens, closes]")
    opening: dict[int, list[tuple[float, float]]] = {}
    for key, spans in hours_raw.items():
        weekday = _weekday(key, "opening_hours")
        if not isinstance(spans, list):
            raise ScenarioError(f"opening_hours.{key}: a list of [opens, closes]")
        parsed = []
        for span in spans:
            if not isinstance(span, list) or len(span) != 2:
                raise ScenarioError(f"opening_hours.{key}: each entry is [opens, closes]")
            opens = _minutes(span[0], f"opening_hours.{key}")
            closes = _minutes(span[1], f"opening_hours.{key}")
            if opens >= closes:
                raise ScenarioError(f"opening_hours.{key}: {span[0]} is not before {span[1]}")
            parsed.append((opens, closes))
        parsed.sort()
        for (_a, end), (begin, _b) in itertools.pairwise(parsed):
            if begin < end:
                raise ScenarioError(f"opening_hours.{key}: opening times overlap")
        opening[weekday] = parsed

    services_raw = data.get("services")
    if not isinstance(services_raw, list) or not services_raw:
        raise ScenarioError("'services' must be a non-empty list")
    services = []
    for index, raw in enumerate(services_raw):
        where = f"services[{index}]"
        if not isinstance(raw, dict):
            raise ScenarioError(f"{where}: must be an object")
        key = raw.get("key")
        if not isinstance(key, str) or not key:
            raise ScenarioError(f"{where}: 'key' is missing")
        services.append(
            ServiceSpec(
                key=key,
                name=str(raw.get("name", key)),
                mean_minutes=_number(raw, "mean_minutes", where, 0.5, 240),
                cv=_number(raw, "cv", where, 0, 3),
                share=_number(raw, "share", where, 0, 1),
                appointment=bool(raw.get("appointment", True)),
            )
        )
    keys = [s.key for s in services]
    if len(set(keys)) != len(keys):
        raise ScenarioError("services: every 'key' must be unique")
    total_share = sum(s.share for s in services)
    if total_share <= 0:
        raise ScenarioError("services: the shares add up to 0")

    counters_raw = data.get("counters")
    if not isinstance(counters_raw, list) or not counters_raw or len(counters_raw) > 200:
        raise ScenarioError("'counters' must be a list of 1 to 200 counters")
    counters = []
    for index, raw in enumerate(counters_raw):
        where = f"counters[{index}]"
        if not isinstance(raw, dict):
            raise ScenarioError(f"{where}: must be an object")
        skills = raw.get("skills")
        if skills is not None:
            if not isinstance(skills, list) or not skills:
                raise ScenarioError(f"{where}: 'skills' is a list of service keys or null (all)")
            unknown = sorted(set(map(str, skills)) - set(keys))
            if unknown:
                raise ScenarioError(f"{where}: unknown services {', '.join(unknown)}")
            skills = frozenset(map(str, skills))
        counters.append(CounterSpec(name=str(raw.get("name", index + 1)), skills=skills))
    for service in services:
        if service.share > 0 and not any(
            c.skills is None or service.key in c.skills for c in counters
        ):
            raise ScenarioError(f"services: no counter can do {service.key!r}")

    visits_raw = data.get("visits_per_day")
    if not isinstance(visits_raw, dict):
        raise ScenarioError("'visits_per_day' must map weekdays to numbers")
    visits = {
        _weekday(k, "visits_per_day"): _number(visits_raw, k, "visits_per_day", 0, 100000)
        for k in visits_raw
    }
    for weekday in visits:
        if visits[weekday] > 0 and weekday not in opening:
            raise ScenarioError(
                f"visits_per_day: visitors on {WEEKDAY_NAMES[weekday]} but no opening hours"
            )
    profile_raw = data.get("hourly_profile", {})
    if not isinstance(profile_raw, dict):
        raise ScenarioError("'hourly_profile' must map hours (\"8\") to weights")
    profile: dict[int, float] = {}
    for key in profile_raw:
        if not str(key).isdigit() or not 0 <= int(key) <= 23:
            raise ScenarioError(f"hourly_profile: {key!r} is not an hour 0-23")
        profile[int(key)] = _number(profile_raw, key, "hourly_profile", 0, 100)
    policy_raw = data.get("policy", {})
    if not isinstance(policy_raw, dict):
        raise ScenarioError("'policy' must be an object")
    defaults = PolicyConfig()
    config = PolicyConfig(
        early_minutes=_optional(
            policy_raw, "early_minutes", defaults.early_minutes, "policy", 0, 120
        ),
        late_minutes=_optional(policy_raw, "late_minutes", defaults.late_minutes, "policy", 0, 240),
        max_wait_minutes=_optional(
            policy_raw, "max_wait_minutes", defaults.max_wait_minutes, "policy", 1, 600
        ),
    )
    return Scenario(
        name=name,
        seed=seed,
        days=days,
        start_weekday=start_weekday,
        opening_hours=opening,
        counters=counters,
        services=services,
        visits_per_day=visits,
        hourly_profile=profile,
        appointment_share=_number(data, "appointment_share", "scenario", 0, 1),
        no_show_rate=_number(data, "no_show_rate", "scenario", 0, 1),
        early_minutes_mean=_optional(data, "early_minutes_mean", 5, "scenario", 0, 120),
        late_share=_optional(data, "late_share", 0.1, "scenario", 0, 1),
        ticket_stop_minutes=_optional(data, "ticket_stop_minutes", 15, "scenario", 0, 240),
        slot_minutes=int(_optional(data, "slot_minutes", 10, "scenario", 5, 60)),
        capacity_split=_choice(data, "capacity_split", ("levelled", "fixed"), "levelled"),
        policy=config,
    )


def scenario_load(path: str | Path) -> Scenario:
    """Read and check a scenario file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"cannot read {path}: {error.strerror}") from error
    if len(text) > 1_000_000:
        raise ScenarioError("the scenario file is larger than 1 MB")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ScenarioError(f"not valid JSON: {error.msg} (line {error.lineno})") from error
    return scenario_parse(data)


# --- one day's visitors ----------------------------------------------------------------


@dataclass
class Visitor:
    key: int
    service: str
    arrival: float
    duration: float
    due: float | None = None
    preferred: float = 0.0  # when they would come without an appointment


def _duration(rng: random.Random, spec: ServiceSpec) -> float:
    if spec.cv <= 0:
        return spec.mean_minutes
    sigma2 = math.log(1 + spec.cv**2)
    return max(0.5, rng.lognormvariate(math.log(spec.mean_minutes) - sigma2 / 2, math.sqrt(sigma2)))


def _pieces(
    scenario: Scenario, spans: list[tuple[float, float]]
) -> list[tuple[float, float, float]]:
    """(start, end, weight per minute) pieces of a day by the hourly profile."""
    pieces = []
    for opens, closes in spans:
        t = opens
        while t < closes:
            end = min(closes, (math.floor(t / 60) + 1) * 60)
            pieces.append((t, end, scenario.hourly_profile.get(int(t // 60), 1.0)))
            t = end
    return pieces


def _draw_time(rng: random.Random, pieces: list[tuple[float, float, float]]) -> float:
    total = sum((end - start) * w for start, end, w in pieces)
    target = rng.random() * total
    for start, end, w in pieces:
        mass = (end - start) * w
        if target <= mass and mass > 0:
            return start + target / w
        target -= mass
    return pieces[-1][1]


class _Book:
    """The day's appointment book: ``lanes`` parallel appointments per grid cell, as the
    booking pages give them (``selectors.office_slots_on``)."""

    def __init__(self, scenario: Scenario, spans: list[tuple[float, float]], weekday: int) -> None:
        self.grid = scenario.slot_minutes
        self.spans = spans
        counters = len(scenario.counters)
        if scenario.capacity_split == "levelled":
            self.lanes = levelled_appointment_lanes(
                counters=counters,
                walk_in_minutes_per_hour=expected_walk_in_minutes(scenario, weekday),
            )
        else:
            fixed = max(0, math.floor(counters * scenario.appointment_share + 0.5))
            self.lanes = dict.fromkeys(range(24), fixed)
        self.cells: dict[float, int] = {}

    def _fits(self, start: float, minutes: float) -> bool:
        if not any(a <= start and start + minutes <= b for a, b in self.spans):
            return False
        cell = start
        while cell < start + minutes:
            if self.cells.get(cell, 0) >= self.lanes.get(int(cell // 60), 0):
                return False
            cell += self.grid
        return True

    def book(self, preferred: float, minutes: float) -> float | None:
        """The free start nearest to ``preferred``, taken; ``None`` if the day is full."""
        length = math.ceil(minutes / self.grid) * self.grid
        starts = [
            a + i * self.grid for a, b in self.spans for i in range(int((b - a) // self.grid))
        ]
        for start in sorted(starts, key=lambda t: (abs(t - preferred), t)):
            if self._fits(start, length):
                cell = start
                while cell < start + length:
                    self.cells[cell] = self.cells.get(cell, 0) + 1
                    cell += self.grid
                return start
        return None


def expected_walk_in_minutes(scenario: Scenario, weekday: int) -> dict[int, float]:
    """Minutes of walk-in work expected per hour of ``weekday`` (what an office reads from
    its ticket statistics: tickets by hour times the mean service time)."""
    spans = scenario.opening_hours.get(weekday, [])
    pieces = _pieces(scenario, spans)
    total_mass = sum((b - a) * w for a, b, w in pieces) or 1.0
    shares = sum(s.share for s in scenario.services) or 1.0
    mean = sum(s.share * s.mean_minutes for s in scenario.services) / shares
    walk_in_share = 1 - scenario.appointment_share
    visits = scenario.visits_per_day.get(weekday, 0)
    per_hour: dict[int, float] = {}
    for a, b, w in pieces:
        hour = int(a // 60)
        per_hour[hour] = (
            per_hour.get(hour, 0.0) + visits * walk_in_share * (b - a) * w / total_mass * mean
        )
    return per_hour


def day_visitors(scenario: Scenario, weekday: int, rng: random.Random) -> list[Visitor]:
    """The visitors of one day, who come at their preferred time (hourly profile); the
    appointment share of those with a bookable service book the free slot nearest to it."""
    spans = scenario.opening_hours.get(weekday, [])
    expected = scenario.visits_per_day.get(weekday, 0)
    if not spans or expected <= 0:
        return []
    # Poisson-distributed day total (normal approximation: totals are large).
    total = max(0, round(rng.gauss(expected, math.sqrt(expected))))
    shares = [s.share for s in scenario.services]
    bookable_share = sum(s.share for s in scenario.services if s.appointment)
    wish = (
        min(1.0, scenario.appointment_share * sum(shares) / bookable_share) if bookable_share else 0
    )
    pieces = _pieces(scenario, spans)
    last_ticket = spans[-1][1] - scenario.ticket_stop_minutes
    walk_pieces = [(a, min(b, last_ticket), w) for a, b, w in pieces if a < last_ticket]
    if not walk_pieces:
        return []
    book = _Book(scenario, spans, weekday)
    visitors: list[Visitor] = []
    for key in range(1, total + 1):
        spec = rng.choices(scenario.services, weights=shares)[0]
        preferred = _draw_time(rng, walk_pieces)
        duration = _duration(rng, spec)
        due = None
        if spec.appointment and rng.random() < wish:
            due = book.book(preferred, spec.mean_minutes)
            if rng.random() < scenario.no_show_rate:
                continue  # booked, never came (the time was blocked all the same)
        if due is None:
            arrival = preferred
        elif rng.random() < scenario.late_share:
            arrival = due + rng.uniform(0, 25)
        else:
            arrival = due - rng.expovariate(1 / max(scenario.early_minutes_mean, 0.1))
        visitors.append(Visitor(key, spec.key, arrival, duration, due, preferred))
    visitors.sort(key=lambda v: (v.arrival, v.key))
    return visitors


def without_appointments(visitors: list[Visitor]) -> list[Visitor]:
    """The same people in an office without appointments: all come at their preferred
    time and draw a ticket."""
    plain = [
        Visitor(v.key, v.service, v.preferred, v.duration, None, v.preferred) for v in visitors
    ]
    plain.sort(key=lambda v: (v.arrival, v.key))
    return plain


# --- running a day under a policy ------------------------------------------------------


@dataclass
class PolicyResult:
    waits: list[float] = field(default_factory=list)
    appointment_waits: list[float] = field(default_factory=list)
    walk_in_waits: list[float] = field(default_factory=list)
    estimates: list[tuple[float, float]] = field(default_factory=list)
    naive: list[tuple[float, float]] = field(default_factory=list)
    busy_minutes: float = 0.0
    open_minutes: float = 0.0
    served: int = 0


def _dedicated_clerks(scenario: Scenario) -> list[Clerk]:
    """Counters split among services by their work (largest remainder; services without
    a counter of their own join the least loaded one)."""
    work = {s.key: s.share * s.mean_minutes for s in scenario.services if s.share > 0}
    total = sum(work.values())
    n = len(scenario.counters)
    quotas = {k: n * w / total for k, w in work.items()}
    seats = {k: int(q) for k, q in quotas.items()}
    for k in sorted(quotas, key=lambda k: quotas[k] - seats[k], reverse=True)[
        : n - sum(seats.values())
    ]:
        seats[k] += 1
    groups: list[set[str]] = []
    for k, count in seats.items():
        groups.extend({k} for _ in range(count))
    for k, count in seats.items():
        if count == 0:
            target = min(range(len(groups)), key=lambda i: sum(work[s] for s in groups[i]))
            groups[target].add(k)
    return [Clerk(skills=frozenset(g), counter=str(i)) for i, g in enumerate(groups)]


def run_day(
    scenario: Scenario,
    visitors: list[Visitor],
    weekday: int,
    policy_name: str,
    result: PolicyResult,
) -> None:
    """Play one day under ``policy_name``; add its figures to ``result``."""
    policy = POLICY_WEIGHTED if policy_name == "weighted" else POLICY_FIFO
    if policy_name == "fifo_per_service":
        clerks = _dedicated_clerks(scenario)
    else:
        clerks = [Clerk(skills=c.skills, counter=str(i)) for i, c in enumerate(scenario.counters)]
    spans = scenario.opening_hours.get(weekday, [])
    if not spans:
        return
    result.open_minutes += len(clerks) * sum(b - a for a, b in spans)
    expected = {s.key: s.mean_minutes for s in scenario.services}
    weights = [(s.share, s.mean_minutes) for s in scenario.services]
    mean_service = sum(w * m for w, m in weights) / sum(w for w, _m in weights)
    config = scenario.policy
    uses_due = policy == POLICY_WEIGHTED
    by_key = {v.key: v for v in visitors}
    # Appointments known in advance (the booking list) but not arrived yet.
    booked = {v.key: v for v in visitors if v.due is not None}

    def as_waiting(v: Visitor) -> Waiting:
        return Waiting(
            key=v.key,
            services=frozenset({v.service}),
            arrived=v.arrival,
            expected_minutes=expected[v.service],
            due=v.due if uses_due else None,
        )

    queue: list[Waiting] = []
    busy: dict[int, tuple[float, float]] = {}  # counter → (call time, expected end)
    idle = set(range(len(clerks)))
    events: list[tuple[float, int, int, int]] = []  # (time, order, kind, id)
    for v in visitors:
        heapq.heappush(events, (v.arrival, 1, 0, v.key))  # kind 0: arrival
    order = 2

    def dispatch(now: float) -> None:
        nonlocal order
        for index in sorted(idle):
            item = choose_next(queue, clerk=clerks[index], now=now, config=config, policy=policy)
            if item is None:
                continue
            queue.remove(item)
            idle.discard(index)
            visitor = by_key[item.key]
            start_wait = visitor.arrival
            if visitor.due is not None and visitor.due > start_wait:
                start_wait = visitor.due
            wait = max(0.0, now - start_wait)
            result.waits.append(wait)
            (result.appointment_waits if visitor.due is not None else result.walk_in_waits).append(
                wait
            )
            if item.key in predictions:
                predicted, naive = predictions.pop(item.key)
                result.estimates.append((predicted, now))
                if naive is not None:
                    result.naive.append((naive, now))
            result.busy_minutes += visitor.duration
            result.served += 1
            busy[index] = (now, now + expected[visitor.service])
            heapq.heappush(events, (now + visitor.duration, 0, 1, index))  # kind 1: free
            order += 1

    predictions: dict[int, tuple[float, float | None]] = {}
    while events:
        now, _o, kind, ident = heapq.heappop(events)
        if kind == 1:
            busy.pop(ident, None)
            idle.add(ident)
            dispatch(now)
            continue
        visitor = by_key[ident]
        booked.pop(ident, None)
        ticket = as_waiting(visitor)
        ahead = len(queue)
        queue.append(ticket)
        counters = [
            OpenCounter(clerk=clerks[i], busy_until=busy[i][1] if i in busy else now)
            for i in range(len(clerks))
        ]
        future = [
            Waiting(
                key=-v.key,
                services=frozenset({v.service}),
                arrived=max((v.due or now) - config.early_minutes, now),
                expected_minutes=expected[v.service],
                due=v.due,
            )
            for v in booked.values()
            if uses_due and v.due is not None and v.due >= now - config.late_minutes
        ]
        calls = estimate_calls(
            waiting=queue + future,
            counters=counters,
            now=now,
            closes=spans[-1][1],
            config=config,
            policy=policy,
        )
        naive = naive_estimate(ahead=ahead, mean_minutes=mean_service, open_counters=len(clerks))
        if ident in calls:
            predictions[ident] = (calls[ident], None if naive is None else now + naive)
        dispatch(now)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def _summary(result: PolicyResult) -> dict[str, Any]:
    waits = result.waits

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    mae = mean_absolute_error(result.estimates)
    naive = mean_absolute_error(result.naive)
    return {
        "served": result.served,
        "mean_wait_minutes": r(sum(waits) / len(waits) if waits else None),
        "p90_wait_minutes": r(_percentile(waits, 90)),
        "share_over_30_minutes": r(sum(1 for w in waits if w > 30) / len(waits) if waits else None),
        "max_wait_minutes": r(max(waits, default=0.0)),
        "walk_in_p90_wait_minutes": r(_percentile(result.walk_in_waits, 90)),
        "appointment_p90_wait_minutes": r(_percentile(result.appointment_waits, 90)),
        "counter_utilisation": r(
            result.busy_minutes / result.open_minutes if result.open_minutes else None
        ),
        "estimator_mae_minutes": r(mae),
        "naive_mae_minutes": r(naive),
        "estimates": len(result.estimates),
    }


def simulate(scenario: Scenario) -> dict[str, Any]:
    """Run every policy over the scenario's days; return the figures and the targets."""
    rng = random.Random(scenario.seed)  # noqa: S311 - a reproducible simulation, no secret
    results = {name: PolicyResult() for name in SIMULATED_POLICIES}
    simulated_days = 0
    weekday = scenario.start_weekday
    visits = 0
    while simulated_days < scenario.days:
        if scenario.opening_hours.get(weekday):
            visitors = day_visitors(scenario, weekday, rng)
            visits += len(visitors)
            plain = without_appointments(visitors)
            for name in SIMULATED_POLICIES:
                day = plain if name in WITHOUT_APPOINTMENTS else visitors
                run_day(scenario, day, weekday, name, results[name])
            simulated_days += 1
        weekday = (weekday + 1) % 7
    summaries = {name: _summary(result) for name, result in results.items()}
    ours, fifo = summaries["weighted"], summaries["fifo"]
    reduction = None
    if ours["p90_wait_minutes"] is not None and fifo["p90_wait_minutes"]:
        reduction = round(100 * (1 - ours["p90_wait_minutes"] / fifo["p90_wait_minutes"]), 1)
    ratio = None
    if ours["estimator_mae_minutes"] is not None and ours["naive_mae_minutes"]:
        ratio = round(ours["estimator_mae_minutes"] / ours["naive_mae_minutes"], 3)
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "days": scenario.days,
        "visits": visits,
        "counters": len(scenario.counters),
        "policies": summaries,
        "targets": {
            "p90_reduction_vs_fifo_percent": reduction,
            "p90_target_percent": 30,
            "p90_met": reduction is not None and reduction >= 30,
            "estimator_mae_over_naive": ratio,
            "estimator_target_ratio": 0.5,
            "estimator_met": ratio is not None and ratio <= 0.5,
        },
    }
