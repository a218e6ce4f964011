"""Reads of the ID document pickup: terminal state, dashboard figures, order lists."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.idpickup.models import Alarm, Compartment, IdOrder, Terminal

S = IdOrder.Status
# A terminal that has not sent a heartbeat for this long is shown as offline.
OFFLINE_AFTER = timedelta(minutes=5)


def terminal_state(*, terminal: Terminal) -> dict[str, Any]:
    """What a terminal learns in reply to its heartbeat."""
    occupied = set(
        IdOrder.objects.filter(terminal=terminal, compartment__isnull=False).values_list(
            "compartment_id", flat=True
        )
    )
    now = timezone.now()
    return {
        "terminal": terminal.name,
        "server_time": now,
        "pin_entry_locked": bool(terminal.pin_locked_until and terminal.pin_locked_until > now),
        "compartments": [
            {
                "number": c.number,
                "size": c.size,
                "height_cm": c.height_cm,
                "door": c.door,
                "occupied": c.pk in occupied,
            }
            for c in terminal.compartments.order_by("number")
        ],
    }


def order_status_dict(order: IdOrder) -> dict[str, Any]:
    """The public status of an order (no personal data beyond what the asker gave)."""
    return {
        "booking_number": order.booking_number,
        "status": order.status,
        "status_label": str(order.get_status_display()),
        "kind": order.kind,
        "location": order.location.name_de,
        "pickup_until": order.pickup_deadline
        if order.status in (S.LOADED, S.NOTIFIED, S.HANDOVER)
        else None,
    }


@dataclass
class TerminalSummary:
    terminal: Terminal
    compartments: int
    occupied: int
    open_alarms: list[Alarm] = field(default_factory=list)
    online: bool = False
    pin_locked: bool = False

    @property
    def occupancy_percent(self) -> int:
        return round(100 * self.occupied / self.compartments) if self.compartments else 0


def dashboard(*, municipality: Municipality, now: datetime | None = None) -> dict[str, Any]:
    """Occupancy, alarms and overdue documents of every terminal of ``municipality``."""
    now = now or timezone.now()
    terminals = list(
        Terminal.objects.filter(municipality=municipality)
        .select_related("location")
        .annotate(
            compartment_count=Count("compartments", distinct=True),
            occupied_count=Count(
                "orders", filter=Q(orders__compartment__isnull=False), distinct=True
            ),
        )
        .order_by("name")
    )
    alarms: dict[int, list[Alarm]] = {}
    for alarm in Alarm.objects.filter(municipality=municipality, cleared_at=None).order_by(
        "-raised_at"
    ):
        alarms.setdefault(alarm.terminal_id, []).append(alarm)
    summaries = [
        TerminalSummary(
            terminal=t,
            compartments=t.compartment_count,
            occupied=t.occupied_count,
            open_alarms=alarms.get(t.pk, []),
            online=bool(t.last_seen_at and now - t.last_seen_at < OFFLINE_AFTER),
            pin_locked=bool(t.pin_locked_until and t.pin_locked_until > now),
        )
        for t in terminals
    ]
    base = IdOrder.objects.filter(municipality=municipality).select_related(
        "terminal", "compartment", "location"
    )
    return {
        "terminals": summaries,
        "overdue": list(
            base.filter(status__in=[S.EXPIRED, S.UNLOADING]).order_by("pickup_deadline")
        ),
        "returned": list(base.filter(status=S.RETURNED).order_by("status_changed_at")),
        "to_load": list(
            base.filter(status=S.ARRIVED, terminal_opt_in=True).order_by("status_changed_at")
        ),
        "attention": list(
            base.filter(
                Q(pin_locked=True) | Q(pin_delivery_failed=True),
                status__in=[S.LOADED, S.NOTIFIED],
            )
        ),
        "alarm_count": sum(len(a) for a in alarms.values()),
    }


def order_list(
    *, municipality: Municipality, status: str = "", query: str = ""
) -> QuerySet[IdOrder]:
    orders = IdOrder.objects.filter(municipality=municipality).select_related(
        "location", "terminal", "compartment"
    )
    if status in S.values:
        orders = orders.filter(status=status)
    query = query.strip()[:100]
    if query:
        orders = orders.filter(
            Q(booking_number__iexact=query)
            | Q(document_barcode__iexact=query)
            | Q(family_name__icontains=query)
        )
    return orders.order_by("-created_at", "-pk")


def orders_of_citizen(*, user: Any) -> QuerySet[IdOrder]:
    return (
        IdOrder.objects.filter(citizen_id=user.pk, municipality_id=user.municipality_id)
        .select_related("location")
        .order_by("-created_at", "-pk")
    )


def compartments_of(*, terminal: Terminal) -> list[tuple[Compartment, IdOrder | None]]:
    orders = {
        o.compartment_id: o
        for o in IdOrder.objects.filter(terminal=terminal, compartment__isnull=False)
    }
    return [(c, orders.get(c.pk)) for c in terminal.compartments.order_by("number")]
