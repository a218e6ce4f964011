"""Priority for buses and emergency vehicles, wrapped around any controller.

A bus announces itself on approach (signal group it will use); the arbiter then keeps
the running green a little longer (extension) or ends the conflicting phase early
(early green), never below minimum greens and never more than ``max_extension`` seconds
per request, and grants early greens at most once per ``cooldown`` so cross traffic is
not starved. An emergency vehicle pre-empts: its group's phase is requested and held
until the vehicle has passed (its request is cancelled), then the wrapped controller
resumes (orderly return through the safety layer's normal transitions).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .controllers import Controller
from .model import Intersection
from .observe import LayerView, Observation


class PriorityKind(StrEnum):
    BUS = "bus"
    EMERGENCY = "emergency"


@dataclass(frozen=True)
class PriorityRequest:
    vehicle: str
    kind: PriorityKind
    group: int
    received: float


class PriorityArbiter:
    """Wraps a controller and bends its proposals for priority requests."""

    def __init__(
        self,
        intersection: Intersection,
        inner: Controller,
        *,
        max_extension: float = 15.0,
        cooldown: float = 60.0,
        bus_timeout: float = 120.0,
        emergency_timeout: float = 180.0,
    ) -> None:
        self.intersection = intersection
        self.inner = inner
        self.name = inner.name
        self.max_extension = max_extension
        self.cooldown = cooldown
        self.bus_timeout = bus_timeout
        self.emergency_timeout = emergency_timeout
        self._requests: dict[str, PriorityRequest] = {}
        self._extended: dict[str, float] = {}
        self._last_early = float("-inf")
        #: Counters for reports: extensions and early greens granted, pre-emptions.
        self.granted = {"requests": 0, "extension": 0, "early_green": 0, "preemption": 0}

    def request(self, request: PriorityRequest) -> None:
        """Register (or refresh) a request; unknown groups are rejected."""
        if not 0 <= request.group < len(self.intersection.groups):
            raise ValueError(f"Unknown signal group {request.group}.")
        if not self.intersection.phases_serving(request.group):
            raise ValueError(f"Signal group {request.group} is never green.")
        if request.vehicle not in self._requests:
            self._requests[request.vehicle] = request
            self.granted["requests"] += 1

    def cancel(self, vehicle: str) -> None:
        self._requests.pop(vehicle, None)
        self._extended.pop(vehicle, None)

    @property
    def active(self) -> list[PriorityRequest]:
        return list(self._requests.values())

    def decide(self, obs: Observation, layer: LayerView) -> int | None:
        base = self.inner.decide(obs, layer)
        now = obs.now
        for vehicle, req in list(self._requests.items()):
            limit = (
                self.emergency_timeout if req.kind is PriorityKind.EMERGENCY else self.bus_timeout
            )
            if now - req.received > limit:
                self.cancel(vehicle)
        if not self._requests:
            return base
        phase = layer.phase
        emergencies = sorted(
            (r for r in self._requests.values() if r.kind is PriorityKind.EMERGENCY),
            key=lambda r: r.received,
        )
        if emergencies:
            wanted = self.intersection.phases_serving(emergencies[0].group)
            if phase in wanted:
                return phase
            if phase is not None and layer.can_switch(now):
                self.granted["preemption"] += 1
            return wanted[0]
        bus = min(self._requests.values(), key=lambda r: r.received)
        wanted = self.intersection.phases_serving(bus.group)
        if phase is None:
            return base
        if phase in wanted:
            if base is not None and base != phase:
                start = self._extended.setdefault(bus.vehicle, now)
                if start == now:
                    self.granted["extension"] += 1
                if now - start < self.max_extension:
                    return phase
            return base
        if base is not None and base in wanted:
            return base
        if now - self._last_early >= self.cooldown and layer.can_switch(now):
            self._last_early = now
            self.granted["early_green"] += 1
            return wanted[0]
        return base
