"""MQTT input: detector readings and priority requests (paho-mqtt, plain and small).

Topics (``<slug>`` is the municipality's short name):

* ``rathaus/<slug>/traffic/detector/<detector id>`` with
  ``{"measured_at": ISO 8601, "count": int, "occupancy": 0..1}``;
* ``rathaus/<slug>/traffic/priority/<intersection id>`` with
  ``{"kind": "bus"|"emergency", "vehicle": str, "group": int}``.

Invalid messages are rejected with a log line (and never stored half); results go to
``rathaus/<slug>/traffic/result`` so a field device can see what happened.

With the shipped broker configuration (``deploy/mosquitto/rathaus.conf``: no anonymous
access, an ACL per municipality) the subscriber signs in with its own user; the ACL lines
it needs are in docs/modules/traffic.md. The session is clean on purpose: a priority
request that waited at the broker while the subscriber was away is stale, and a detector
reading that is missing shows up as a data gap.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
from collections.abc import Callable
from typing import Any

from django.utils.dateparse import parse_datetime

from rathaus.core.errors import ApplicationError

log = logging.getLogger(__name__)

TOPIC = re.compile(r"^rathaus/([a-z0-9-]{1,63})/traffic/(detector|priority)/([0-9]{1,12})$")
SUBSCRIPTIONS = ("rathaus/+/traffic/detector/+", "rathaus/+/traffic/priority/+")
MAX_PAYLOAD = 4096


def message_handle(topic: str, payload: bytes) -> dict[str, Any]:
    """Validate and store one message; returns ``{"ok": bool, ...}`` (never raises)."""
    from rathaus.core.models import Municipality
    from rathaus.traffic import services

    match = TOPIC.match(topic)
    if match is None:
        return {"ok": False, "error": "unknown topic"}
    slug, kind, ident = match.group(1), match.group(2), int(match.group(3))
    if len(payload) > MAX_PAYLOAD:
        return {"ok": False, "error": "payload too large"}
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"ok": False, "error": "payload is not JSON"}
    if not isinstance(data, dict):
        return {"ok": False, "error": "payload must be an object"}
    municipality = Municipality.objects.filter(slug=slug).first()
    if municipality is None:
        return {"ok": False, "error": "unknown municipality"}
    try:
        if kind == "detector":
            raw_time = data.get("measured_at")
            measured = parse_datetime(raw_time) if isinstance(raw_time, str) else None
            result = services.readings_ingest(
                municipality=municipality,
                readings=[
                    {
                        "detector": ident,
                        "measured_at": measured,
                        "count": data.get("count"),
                        "occupancy": data.get("occupancy"),
                    }
                ],
                source="mqtt",
            )
            return {
                "ok": True,
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "gaps": result.gaps,
            }
        group = data.get("group")
        request = services.priority_request_receive(
            municipality=municipality,
            intersection_id=ident,
            kind=str(data.get("kind", "")),
            vehicle=str(data.get("vehicle", "")),
            group=group if isinstance(group, int) and not isinstance(group, bool) else -1,
            source="mqtt",
        )
        return {"ok": True, "id": request.pk}
    except ApplicationError as error:
        return {"ok": False, "error": str(error.message), "fields": error.fields}
    except ValueError as error:
        return {"ok": False, "error": str(error)}


def client_connect(
    *,
    host: str,
    port: int,
    on_message: Callable[[str, bytes], None],
    username: str = "",
    password: str = "",
) -> Any:
    """A connected paho client subscribed to the traffic topics, its network loop running
    in a background thread; ``on_message`` gets (topic, payload) in that thread. Signs in
    as ``username`` when one is given."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    if username:
        client.username_pw_set(username, password)

    def connected(client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            log.error("traffic mqtt: the broker at %s:%s refused us: %s", host, port, reason)
            return
        for topic in SUBSCRIPTIONS:
            client.subscribe(topic, qos=1)

    client.on_connect = connected
    client.on_message = lambda c, u, msg: on_message(msg.topic, bytes(msg.payload))
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client


def run_forever(
    *,
    host: str,
    port: int,
    username: str = "",
    password: str = "",
    stop: threading.Event | None = None,
) -> None:
    """Receive messages and handle them one by one in this thread (database access stays
    in one thread); results are published back. Runs until ``stop`` is set (if given)."""
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue(maxsize=10_000)
    client = client_connect(
        host=host,
        port=port,
        on_message=lambda t, p: inbox.put((t, p)),
        username=username,
        password=password,
    )
    try:
        while stop is None or not stop.is_set():
            try:
                topic, payload = inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            outcome = message_handle(topic, payload)
            if not outcome["ok"]:
                log.warning("traffic mqtt: rejected %s: %s", topic, outcome.get("error"))
            parts = topic.split("/")
            if len(parts) > 2:
                client.publish(f"rathaus/{parts[1]}/traffic/result", json.dumps(outcome), qos=0)
    finally:
        client.loop_stop()
        client.disconnect()
