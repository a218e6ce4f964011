"""Demo data of the OCPP central system for municipal charging stations.

Loaded idempotently by ``rathaus load_demo``: two sites with six stations, a tariff and
two charging cards. The stations connect with ``rathaus ocpp simulate`` once their
password has been set (``station_password_rotate`` or the station page).
"""

from decimal import Decimal

from rathaus.charging.models import Connector, PlugType, Site, Station, Tariff, Token
from rathaus.core.models import Municipality


def charging_demo_load(*, municipality: Municipality) -> None:
    """Create the demo sites, stations, tariff and cards unless they exist."""
    tariff, _ = Tariff.objects.get_or_create(
        municipality=municipality,
        name="Standard",
        defaults={
            "energy_ct_per_kwh": 49,
            "blocking_ct_per_minute": 10,
            "blocking_grace_minutes": 240,
            "blocking_cap_ct": 1200,
        },
    )
    sites = [
        ("Rathausplatz", "Rathausplatz 1", Decimal("48.775846"), Decimal("9.182932"), 44000, "", 2),
        (
            "Parkhaus Mitte",
            "Marktstraße 12",
            Decimal("48.777100"),
            Decimal("9.176400"),
            66000,
            "Mo-Sa 6-22 Uhr",
            4,
        ),
    ]
    for name, street, lat, lon, limit, hours, count in sites:
        site, _ = Site.objects.get_or_create(
            municipality=municipality,
            name=name,
            defaults={
                "street": street,
                "postal_code": "70173",
                "city": municipality.name,
                "latitude": lat,
                "longitude": lon,
                "grid_limit_w": limit,
                "access_hours": hours,
            },
        )
        for number in range(1, count + 1):
            identity = f"{municipality.slug}-{site.pk}-{number}"
            station, created = Station.objects.get_or_create(
                identity=identity,
                defaults={
                    "municipality": municipality,
                    "site": site,
                    "name": f"{name} {number}",
                    "max_power_w": 22000,
                    "tariff": tariff,
                },
            )
            if created:
                for connector_id in (1, 2):
                    Connector.objects.create(
                        municipality=municipality,
                        station=station,
                        connector_id=connector_id,
                        plug_type=PlugType.TYPE2,
                        max_power_w=22000,
                    )
    for uid, holder, contract in (
        ("04A1B2C3D4", "Erika Mustermann", "V-0001"),
        ("04E5F6A7B8", "Stadtwerke Fuhrpark", "V-0002"),
    ):
        Token.objects.get_or_create(
            municipality=municipality,
            uid=uid,
            defaults={"kind": Token.Kind.CONTRACT, "holder": holder, "contract_ref": contract},
        )
