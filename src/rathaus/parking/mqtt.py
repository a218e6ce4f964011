"""The MQTT ingester: sensor and garage readings from the broker into the database.

Delivery guarantee (ADR 0022, ADR 0027): QoS 1, a fixed client id and a persistent
session (``clean_session=False``), so the broker keeps the subscription and queues
messages while the ingester is away; acknowledgements are sent by hand (``manual_ack``)
only after the batch holding the message has been committed. A crash between commit and
ack makes the broker redeliver; the redelivered reading is then refused as a duplicate,
so nothing is lost and nothing is counted twice. A broker restart (with persistence)
keeps the session; the client reconnects by itself.

The ingester speaks MQTT 3.1.1, not 5: paho decodes the properties of every MQTT v5
PUBLISH into a new ``Properties`` object, which cost more than half of the network
thread's time at saturation, and the ingester uses none of them. What v5 gave (a session
expiry, a Receive Maximum) the broker's configuration provides for 3.1.1 sessions
(``persistent_client_expiration``, ``max_inflight_messages``: deploy/mosquitto/rathaus.conf).
Publishers may use either version.

Throughput comes from batching: messages collect in memory and are written in one
transaction every ``flush_seconds`` or ``batch_size`` messages (at most ``4 *
batch_size`` per transaction). Because acks wait for the commit, the broker's in-flight
window for the ingester (``max_inflight_messages``) must hold a few batches; messages
beyond it wait in the broker's per-client queue, which ``max_queued_messages`` bounds
(1000 by default, beyond which Mosquitto drops QoS 1 messages: docs/modules/parking.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from django.db import close_old_connections, connection, transaction

from rathaus.core.models import Municipality
from rathaus.parking.inbound import TOPIC_ROOT, ParseError, Reading, mqtt_parse
from rathaus.parking.models import Source
from rathaus.parking.services import readings_ingest, rejection_log

logger = logging.getLogger(__name__)
SUBSCRIPTION = f"{TOPIC_ROOT}/+/parking/sites/#"
MAX_BACKOFF = 10.0  # seconds between attempts to write a failed batch
ISOLATE_AFTER = 3  # failures of a batch before it is written message by message
POISON_AFTER = 6  # failures of a single message before it is refused and acknowledged


@dataclass
class IngesterStats:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    connects: int = 0
    last_flush: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)


class Ingester:
    """One long-running MQTT subscriber; ``run`` blocks until ``stop`` is called."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        client_id: str = "rathaus-parking-ingest",
        username: str = "",
        password: str = "",
        batch_size: int = 500,
        flush_seconds: float = 0.2,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.batch_size, self.flush_seconds = batch_size, flush_seconds
        self.on_batch = on_batch
        self.stats = IngesterStats()
        self._pending: list[tuple[mqtt.MQTTMessage, Reading | None, ParseError | None]] = []
        # Message ids are per connection: only messages of the current one are acked.
        self._generation = 0
        self._backoff = 0.0
        self._failures = 0
        self._isolating = 0  # messages still to be written one by one
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.connected = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=False,
            manual_ack=True,
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)

    # Callbacks run on paho's network thread: they only parse and queue.
    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        if getattr(reason, "is_failure", False):
            logger.error("mqtt connect refused", extra={"reason": str(reason)})
            return
        self.stats.connects += 1
        with self._lock:
            self._generation += 1
            self._pending.clear()
        # Subscribing again is harmless with a kept session and needed for a new one.
        client.subscribe(SUBSCRIPTION, qos=1)
        self.connected.set()
        logger.info(
            "mqtt ingester connected",
            extra={"session_present": getattr(flags, "session_present", None)},
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        self.connected.clear()
        # Unacknowledged messages of this connection are redelivered by the broker.
        with self._lock:
            self._pending.clear()
        if not self._stopping.is_set():
            logger.warning(
                "mqtt ingester disconnected; reconnecting", extra={"reason": str(reason)}
            )

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            reading, error = mqtt_parse(message.topic, message.payload), None
        except ParseError as failure:
            reading, error = None, failure
        with self._lock:
            self._pending.append((message, reading, error))
            full = len(self._pending) >= self.batch_size
        # ``Event.set`` takes a lock and notifies; at saturation, setting it again for
        # every message while the flush is busy cost a third of this thread's time.
        if full and not self._wake.is_set():
            self._wake.set()

    def flush(self) -> int:
        """Write what has arrived, then acknowledge it. Returns the number of messages."""
        with self._lock:
            limit = 1 if self._isolating else 4 * self.batch_size
            batch, self._pending = self._pending[:limit], self._pending[limit:]
            generation = self._generation
            if self._pending:
                self._wake.set()
        if not batch:
            return 0
        readings = [reading for _, reading, _ in batch if reading is not None]
        try:
            with transaction.atomic():
                result = (
                    readings_ingest(readings=readings, source=Source.MQTT) if readings else None
                )
                for _, _, error in batch:
                    if error is not None:
                        rejection_log(
                            municipality=None,
                            source=Source.MQTT,
                            reason=error.reason,
                            detail=error.detail,
                        )
        except Exception:
            # The database is away (or locked, or a bug): nothing is acknowledged. The
            # batch goes back to the front and is tried again after a growing pause; if
            # the process dies meanwhile, the broker redelivers the unacknowledged messages.
            logger.exception("parking batch failed; messages stay unacknowledged")
            connection.close()
            self._failures += 1
            if (
                len(batch) == 1
                and self._failures >= POISON_AFTER
                and self._drop(batch[0], generation)
            ):
                return 1
            if self._failures >= ISOLATE_AFTER and not self._isolating:
                # Perhaps one message breaks the batch: go on one by one through it.
                self._isolating = len(batch)
            with self._lock:
                if generation == self._generation:
                    self._pending = batch + self._pending
            self._backoff = min(MAX_BACKOFF, self._backoff * 2 or 0.2)
            self._stopping.wait(self._backoff)
            return 0
        self._backoff = 0.0
        self._failures = 0
        self._isolating = max(0, self._isolating - len(batch))
        with self._lock:
            same_connection = generation == self._generation and self.connected.is_set()
        if same_connection:
            for message, _, _ in batch:
                self.client.ack(message.mid, message.qos)
        self.stats.received += len(batch)
        self.stats.batches += 1
        self.stats.accepted += result.accepted if result else 0
        rejected = (len(result.rejected) if result else 0) + sum(
            1 for *_, e in batch if e is not None
        )
        self.stats.rejected += rejected
        self.stats.last_flush = time.monotonic()
        if self.on_batch:
            self.on_batch(len(batch))
        return len(batch)

    def _drop(
        self, item: tuple[mqtt.MQTTMessage, Reading | None, ParseError | None], generation: int
    ) -> bool:
        """Give up on a message that fails on its own while the database works: log it
        as refused and acknowledge it, so it cannot block the ingester forever."""
        message = item[0]
        try:
            rejection_log(
                municipality=None,
                source=Source.MQTT,
                reason="ingest_error",
                detail=f"{message.topic[:200]}: {message.payload[:200]!r}",
            )
        except Exception:
            connection.close()
            return False  # the database itself is away: keep the message
        with self._lock:
            same_connection = generation == self._generation
        if same_connection:
            self.client.ack(message.mid, message.qos)
        self._failures = 0
        self._isolating = max(0, self._isolating - 1)
        return True

    def run(self) -> None:
        """Connect and ingest until ``stop``; survives broker restarts and bad messages."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        try:
            while not self._stopping.is_set():
                self._wake.wait(self.flush_seconds)
                self._wake.clear()
                self.flush()
                close_old_connections()
        finally:
            self.flush()
            self.client.disconnect()
            self.client.loop_stop()
            connection.close()  # this thread's own database connection

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()


def tenant_topic(municipality: Municipality, site: str, space: str | None = None) -> str:
    """The topic a garage system or sensor of ``municipality`` publishes to."""
    base = f"{TOPIC_ROOT}/{municipality.slug}/parking/sites/{site}"
    return f"{base}/spaces/{space}" if space else f"{base}/count"
