"""Demo data of adaptive traffic signal control: the intersections of the RESCO
"cologne8" network (from the shared data folder) and, for the first one, a week
program: an approved night plan for every day, an approved plan for Sundays and public
holidays, and a daytime plan for Monday to Saturday, a draft that can be tried in a
simulation and then approved by a second person. Loaded idempotently by
``rathaus load_demo``."""

from datetime import time

from rathaus.core.models import Municipality
from rathaus.traffic import selectors, services
from rathaus.traffic.models import Intersection

DEMO_SCENARIO = "cologne8"


def traffic_demo_load(*, municipality: Municipality) -> None:
    """Import the demo network once; skipped when the shared data is not there."""
    if Intersection.objects.filter(municipality=municipality).exists():
        return
    if DEMO_SCENARIO not in selectors.scenario_names():
        return
    folder = selectors.scenario_folder(DEMO_SCENARIO)
    net = next(folder.glob("*.net.xml"))
    imported = services.network_import(
        municipality=municipality, content=net.read_bytes(), network=net.name
    )
    first = imported[0]
    flows = {p.order: 300.0 + 100.0 * (p.order % 2 == 0) for p in first.phases.all()}
    night = services.plan_compute(
        intersection=first,
        name="Nacht",
        starts_at=time(22),
        ends_at=time(6),
        flows={order: flow / 3 for order, flow in flows.items()},
    )
    services.plan_approve(plan=night, actor=None)
    sunday = services.plan_compute(
        intersection=first,
        name="Sonn- und Feiertag",
        starts_at=time(6),
        ends_at=time(22),
        flows={order: flow / 2 for order, flow in flows.items()},
        days=("su", "ph"),
    )
    services.plan_approve(plan=sunday, actor=None)
    services.plan_compute(
        intersection=first,
        name="Tag",
        starts_at=time(6),
        ends_at=time(22),
        flows=flows,
        days=("mo", "tu", "we", "th", "fr", "sa"),
    )
