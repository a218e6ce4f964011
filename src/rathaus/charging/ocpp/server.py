"""The OCPP central system: one asyncio process for every station of every municipality.

Stations connect to ``ws(s)://host:port/ocpp/<identity>`` offering ``ocpp1.6`` and/or
``ocpp2.0.1``; the handshake checks their credentials (HTTP basic auth with the station's
secret, or a TLS client certificate whose fingerprint is registered) before any OCPP
message is read. Database work runs in a bounded thread pool so the event loop never
blocks; heartbeats and meter values are written in batches (ADR 0023).
"""

import asyncio
import base64
import binascii
import contextlib
import functools
import gc
import hashlib
import json
import logging
import math
import os
import re
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, TypeVar

import ocpp.messages  # type: ignore[import-untyped]
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from ocpp.exceptions import GenericError, OCPPError  # type: ignore[import-untyped]
from ocpp.messages import CallError, MessageType, unpack
from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint as ChargePoint16  # type: ignore[import-untyped]
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201  # type: ignore[import-untyped]
from ocpp.v201 import call_result as result201
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from rathaus.charging import selectors, services
from rathaus.charging.ocpp import SUBPROTOCOLS
from rathaus.charging.ocpp.commands import build_call, interpret
from rathaus.charging.services import SampleIn

logger = logging.getLogger(__name__)
# Every frame at INFO would be thousands of lines a second; the wire log is for debugging.
wire_logger = logging.getLogger("rathaus.charging.ocpp.wire")


def _wire_logging() -> None:
    # Formatting two JSON lines per call costs more CPU than handling the call; the wire
    # log is opt-in (OCPP_WIRE_LOG=1).
    if os.environ.get("OCPP_WIRE_LOG") != "1":
        wire_logger.setLevel(logging.WARNING)


# Validation runs inline: the thread hop of the library's default costs more than the
# validation of a small payload, and schema checks are CPU work either way.
ocpp.messages.ASYNC_VALIDATION = False

IDENTITY_RE = re.compile(r"/ocpp/([A-Za-z0-9._-]{1,48})/?")
T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_time(value: str | None) -> datetime:
    if not value:
        return _now()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return _now()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _energy_wh(
    sampled: list[dict[str, Any]], version: str
) -> tuple[int | None, int | None, int | None]:
    """Energy register (Wh), power (W) and state of charge (%) of one meterValue."""
    energy = power = soc = None
    for item in sampled:
        measurand = item.get("measurand") or "Energy.Active.Import.Register"
        try:
            value = float(item.get("value"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if version == "1.6":
            unit = item.get("unit") or ("Wh" if measurand.startswith("Energy") else "W")
            multiplier = 1.0
        else:
            unit_info = item.get("unit_of_measure") or {}
            unit = unit_info.get("unit") or ("Wh" if measurand.startswith("Energy") else "W")
            multiplier = 10.0 ** int(unit_info.get("multiplier", 0))
        value *= multiplier
        if unit in ("kWh", "kW"):
            value *= 1000
        if measurand == "Energy.Active.Import.Register":
            energy = int(value)
        elif measurand == "Power.Active.Import":
            power = int(value)
        elif measurand == "SoC":
            soc = max(0, min(100, int(value)))
    return energy, power, soc


@dataclass
class Bucket:
    """Token bucket: ``burst`` calls at once, ``rate`` per second sustained."""

    rate: float
    burst: float
    tokens: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Histogram:
    """Latencies in logarithmic buckets (10 % wide, 20 µs to 2 min): O(1) to record,
    no sorting on the event loop, and cumulative, so a reader can subtract two snapshots
    to get the percentiles of the time between them (the benchmark's steady phase)."""

    RATIO = 1.1
    FIRST = 0.00002
    SIZE = 166  # FIRST * RATIO ** SIZE is about 150 s

    def __init__(self) -> None:
        self.counts = [0] * (self.SIZE + 1)
        self.total = 0

    def add(self, seconds: float) -> None:
        index = 0
        if seconds > self.FIRST:
            index = min(self.SIZE, int(math.log(seconds / self.FIRST, self.RATIO)) + 1)
        self.counts[index] += 1
        self.total += 1

    @classmethod
    def upper_ms(cls, index: int) -> float:
        """Upper bound of bucket ``index`` in milliseconds."""
        return round(cls.FIRST * cls.RATIO**index * 1000, 3)

    @classmethod
    def percentile_ms(cls, counts: list[int], share: float) -> float | None:
        """Nearest-rank percentile of bucket counts, as its bucket's upper bound."""
        total = sum(counts)
        if not total:
            return None
        rank = max(1, math.ceil(share * total))
        seen = 0
        for index, count in enumerate(counts):
            seen += count
            if seen >= rank:
                return cls.upper_ms(index)
        return cls.upper_ms(len(counts) - 1)

    def summary(self, prefix: str) -> dict[str, Any]:
        return {
            f"{prefix}_p50_ms": self.percentile_ms(self.counts, 0.50),
            f"{prefix}_p99_ms": self.percentile_ms(self.counts, 0.99),
            f"{prefix}_max_ms": self.percentile_ms(self.counts, 1.0),
        }


async def loop_lag_watch(histogram: Histogram, period: float = 0.05) -> None:
    """Record how late the event loop wakes a sleeper: the wait every callback and every
    arriving frame has on top of its own work (GIL held by other threads, long callbacks)."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(period)
        histogram.add(max(0.0, loop.time() - started - period))


@dataclass
class StationInfo:
    station_id: int
    municipality_id: int
    identity: str


class _Connection:
    """What both protocol versions share: rate limit, malformed frames, bookkeeping."""

    version: str

    def __init__(self, info: StationInfo, ws: ServerConnection, central: "CentralSystem") -> None:
        super().__init__(
            info.identity, ws, response_timeout=central.response_timeout, logger=wire_logger
        )  # type: ignore[call-arg]
        self.info = info
        self.central = central
        self.bucket = Bucket(rate=central.rate, burst=central.burst)
        self._last_event_log: dict[str, float] = {}

    def _throttled_event(self, code: str, detail: str) -> None:
        now = time.monotonic()
        if now - self._last_event_log.get(code, 0.0) < 60:
            return
        self._last_event_log[code] = now
        self.central.spawn(
            self.central.db(
                services.station_event_log,
                station_id=self.info.station_id,
                municipality_id=self.info.municipality_id,
                kind="protocol",
                code=code,
                detail=detail,
            )
        )

    def _format_code(self) -> str:
        return "FormationViolation" if self.version == "1.6" else "FormatViolation"

    async def route_message(self, raw_msg: str | bytes) -> None:
        self.central.seen.add(self.info.station_id)
        if isinstance(raw_msg, bytes):
            raw_msg = raw_msg.decode("utf-8", "replace")
        try:
            msg = unpack(raw_msg)
        except OCPPError as error:
            unique_id = "-1"
            try:
                frame = json.loads(raw_msg)
                if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str):
                    unique_id = frame[1][:36]
            except ValueError:
                pass
            self._throttled_event("malformed_frame", f"{error.description}: {raw_msg[:200]}")
            await self._send(  # type: ignore[attr-defined]
                CallError(
                    unique_id=unique_id,
                    error_code=self._format_code(),
                    error_description=str(error.description)[:200],
                    error_details={},
                ).to_json()
            )
            return
        if msg.message_type_id == MessageType.Call and not self.bucket.take():
            self.central.counters["rate_limited"] += 1
            self._throttled_event("rate_limited", f"{msg.action} refused: rate limit")
            await self._send(  # type: ignore[attr-defined]
                msg.create_call_error(GenericError("Rate limit exceeded, slow down")).to_json()
            )
            return
        if msg.message_type_id != MessageType.Call:
            await super().route_message(raw_msg)  # type: ignore[misc]
            return
        self.central.counters["calls"] += 1
        started = time.perf_counter()
        await super().route_message(raw_msg)  # type: ignore[misc]
        self.central.handling.add(time.perf_counter() - started)

    async def db(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        return await self.central.db(fn, **kwargs)

    async def _status(
        self, connector_id: int, status: str, error_code: str, info: str, at: str | None
    ) -> None:
        if status != "Faulted" and error_code in ("", "NoError") and connector_id > 0:
            # Ordinary state changes are written in the next batch; faults at once, because
            # they alert people.
            self.central.statuses[(self.info.station_id, connector_id)] = (status, _parse_time(at))
            return
        await self.db(
            services.connector_status_record,
            station_id=self.info.station_id,
            connector_id=connector_id,
            ocpp_status=status,
            error_code=error_code,
            info=info or "",
            at=_parse_time(at),
        )

    async def _authorize(self, id_tag: str) -> str:
        return await self.db(
            services.token_authorize, municipality_id=self.info.municipality_id, id_tag=id_tag
        )


class Station16(_Connection, ChargePoint16):
    version = "1.6"

    @on("BootNotification")
    async def on_boot(self, charge_point_vendor: str, charge_point_model: str, **kw: Any) -> Any:
        await self.db(
            services.station_boot,
            station_id=self.info.station_id,
            vendor=charge_point_vendor,
            model=charge_point_model,
            serial_number=kw.get("charge_point_serial_number", ""),
            firmware_version=kw.get("firmware_version", ""),
        )
        return result16.BootNotification(
            current_time=_now().isoformat(),
            interval=self.central.heartbeat_interval,
            status="Accepted",
        )

    @on("Heartbeat")
    async def on_heartbeat(self) -> Any:
        return result16.Heartbeat(current_time=_now().isoformat())

    @on("StatusNotification")
    async def on_status(self, connector_id: int, error_code: str, status: str, **kw: Any) -> Any:
        await self._status(
            connector_id, status, error_code, kw.get("info", ""), kw.get("timestamp")
        )
        return result16.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, id_tag: str) -> Any:
        return result16.Authorize(id_tag_info={"status": await self._authorize(id_tag)})

    @on("StartTransaction")
    async def on_start(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kw: Any
    ) -> Any:
        result = await self.db(
            services.transaction_start_v16,
            station_id=self.info.station_id,
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start=meter_start,
            timestamp=_parse_time(timestamp),
            reservation_id=kw.get("reservation_id"),
        )
        return result16.StartTransaction(
            transaction_id=result.transaction_id, id_tag_info={"status": result.status}
        )

    @on("StopTransaction")
    async def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, **kw: Any) -> Any:
        # Readings sent with the stop belong to the session; store them before closing it.
        self._queue_meter(str(transaction_id), kw.get("transaction_data") or [])
        await self.central.flush()
        await self.db(
            services.transaction_stop_v16,
            station_id=self.info.station_id,
            transaction_id=transaction_id,
            meter_stop=meter_stop,
            timestamp=_parse_time(timestamp),
            reason=kw.get("reason", ""),
        )
        if kw.get("id_tag"):
            return result16.StopTransaction(
                id_tag_info={"status": await self._authorize(kw["id_tag"])}
            )
        return result16.StopTransaction()

    def _queue_meter(self, ref: str, meter_value: list[dict[str, Any]]) -> None:
        for reading in meter_value:
            energy, power, soc = _energy_wh(reading.get("sampled_value") or [], "1.6")
            self.central.queue_sample(
                SampleIn(
                    station_id=self.info.station_id,
                    transaction_ref=ref,
                    timestamp=_parse_time(reading.get("timestamp")),
                    energy_wh=energy,
                    power_w=power,
                    soc_percent=soc,
                )
            )

    @on("MeterValues")
    async def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **kw: Any
    ) -> Any:
        if kw.get("transaction_id") is not None:
            self._queue_meter(str(kw["transaction_id"]), meter_value)
        return result16.MeterValues()

    @on("DataTransfer")
    async def on_data_transfer(self, vendor_id: str, **kw: Any) -> Any:
        return result16.DataTransfer(status="UnknownVendorId")

    @on("FirmwareStatusNotification")
    async def on_firmware_status(self, status: str) -> Any:
        return result16.FirmwareStatusNotification()

    @on("DiagnosticsStatusNotification")
    async def on_diagnostics_status(self, status: str) -> Any:
        return result16.DiagnosticsStatusNotification()


class Station201(_Connection, ChargePoint201):
    version = "2.0.1"

    @on("BootNotification")
    async def on_boot(self, charging_station: dict[str, Any], reason: str, **kw: Any) -> Any:
        await self.db(
            services.station_boot,
            station_id=self.info.station_id,
            vendor=charging_station.get("vendor_name", ""),
            model=charging_station.get("model", ""),
            serial_number=charging_station.get("serial_number", ""),
            firmware_version=charging_station.get("firmware_version", ""),
        )
        return result201.BootNotification(
            current_time=_now().isoformat(),
            interval=self.central.heartbeat_interval,
            status="Accepted",
        )

    @on("Heartbeat")
    async def on_heartbeat(self, **kw: Any) -> Any:
        return result201.Heartbeat(current_time=_now().isoformat())

    @on("StatusNotification")
    async def on_status(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **kw: Any
    ) -> Any:
        await self._status(evse_id, connector_status, "", "", timestamp)
        return result201.StatusNotification()

    @on("NotifyEvent")
    async def on_notify_event(
        self, generated_at: str, seq_no: int, event_data: list[dict[str, Any]], **kw: Any
    ) -> Any:
        # Problem events carry the fault; they reach operators like 1.6 error codes.
        for event in event_data:
            if event.get("trigger") == "Alerting" or event.get("tech_code"):
                evse = (event.get("component") or {}).get("evse") or {}
                await self._status(
                    int(evse.get("id", 0)),
                    "Faulted",
                    str(event.get("tech_code") or event.get("actual_value") or "Problem")[:50],
                    str(event.get("tech_info") or ""),
                    event.get("timestamp"),
                )
        return result201.NotifyEvent()

    @on("Authorize")
    async def on_authorize(self, id_token: dict[str, Any], **kw: Any) -> Any:
        return result201.Authorize(
            id_token_info={"status": await self._authorize(id_token["id_token"])}
        )

    @on("TransactionEvent")
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **kw: Any,
    ) -> Any:
        ref = transaction_info["transaction_id"]
        readings = kw.get("meter_value") or []
        samples = []
        last_energy = None
        for reading in readings:
            energy, power, soc = _energy_wh(reading.get("sampled_value") or [], "2.0.1")
            if energy is not None:
                last_energy = energy
            samples.append((reading.get("timestamp"), energy, power, soc))
        id_token = (kw.get("id_token") or {}).get("id_token")
        evse = kw.get("evse") or {}
        result = await self.db(
            services.transaction_event_v201,
            station_id=self.info.station_id,
            event_type=event_type,
            timestamp=_parse_time(timestamp),
            seq_no=seq_no,
            transaction_id=ref,
            trigger_reason=trigger_reason,
            evse_id=evse.get("id"),
            id_token=id_token,
            charging_state=transaction_info.get("charging_state"),
            stopped_reason=transaction_info.get("stopped_reason"),
            meter_wh=last_energy if event_type != "Updated" else None,
        )
        for at, energy, power, soc in samples:
            self.central.queue_sample(
                SampleIn(
                    station_id=self.info.station_id,
                    transaction_ref=ref,
                    timestamp=_parse_time(at),
                    energy_wh=energy,
                    power_w=power,
                    soc_percent=soc,
                )
            )
        if result.id_token_status:
            return result201.TransactionEvent(id_token_info={"status": result.id_token_status})
        return result201.TransactionEvent()

    @on("MeterValues")
    async def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], **kw: Any
    ) -> Any:
        # Readings outside a transaction (the station's main meter) are not billed.
        return result201.MeterValues()

    @on("FirmwareStatusNotification")
    async def on_firmware_status(self, status: str, **kw: Any) -> Any:
        return result201.FirmwareStatusNotification()

    @on("LogStatusNotification")
    async def on_log_status(self, status: str, **kw: Any) -> Any:
        return result201.LogStatusNotification()

    @on("SecurityEventNotification")
    async def on_security_event(self, type: str, timestamp: str, **kw: Any) -> Any:
        self._throttled_event("security_event", f"{type} {kw.get('tech_info', '')}")
        return result201.SecurityEventNotification()

    @on("NotifyReport")
    async def on_notify_report(
        self, request_id: int, generated_at: str, seq_no: int, **kw: Any
    ) -> Any:
        return result201.NotifyReport()

    @on("ReservationStatusUpdate")
    async def on_reservation_status(
        self, reservation_id: int, reservation_update_status: str, **kw: Any
    ) -> Any:
        return result201.ReservationStatusUpdate()


def server_ssl_context(cert: str, key: str = "", client_ca: str = "") -> ssl.SSLContext | None:
    """TLS for security profiles 2 and 3; ``client_ca`` asks stations for a certificate.

    A certificate is optional at the TLS layer so that stations of profile 2 (basic auth
    over TLS) can connect too; a station with a registered fingerprint must present it.
    """
    if not cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key or None)
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _db_call(fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
    for attempt in range(40):
        try:
            return fn(**kwargs)
        except OperationalError as error:
            if "locked" in str(error) and attempt < 39:
                # SQLite: another process (or, in tests, thread) holds the write lock.
                time.sleep(0.025)
                continue
            if attempt:
                raise
            # A connection lost (database restarted): reconnect once, then give up.
            close_old_connections()
            connection.close()
        except InterfaceError:
            if attempt:
                raise
            connection.close()
    return fn(**kwargs)


class CentralSystem:
    """The websocket server with its batching, command dispatch and credential checks."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 9000,
        ssl_context: Any = None,
        db_workers: int = 4,
        heartbeat_interval: int = 60,
        rate: float = 5.0,
        burst: float = 100.0,
        poll_interval: float = 1.0,
        flush_interval: float = 1.0,
        response_timeout: int = 30,
        max_failures_per_minute: int = 20,
        stats_file: str = "",
    ) -> None:
        self.stats_file = stats_file
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.db_workers = db_workers
        self.executor = ThreadPoolExecutor(max_workers=db_workers, thread_name_prefix="ocpp-db")
        self.heartbeat_interval = heartbeat_interval
        self.rate = rate
        self.burst = burst
        self.poll_interval = poll_interval
        self.flush_interval = flush_interval
        self.response_timeout = response_timeout
        self.max_failures_per_minute = max_failures_per_minute
        self.connections: dict[int, _Connection] = {}
        self.seen: set[int] = set()
        self.samples: list[SampleIn] = []
        self.statuses: dict[tuple[int, int], tuple[str, datetime]] = {}
        self.counters: dict[str, int] = defaultdict(int)
        # Database calls queued or running: a backlog means the threads cannot keep up.
        self.db_waiting = 0
        # Time from a call's arrival to its answer being sent, and how late the event
        # loop runs, for ``stats``.
        self.handling = Histogram()
        self.loop_lag = Histogram()
        # Pauses of the cyclic garbage collector (the whole process stops meanwhile).
        self.gc_pauses = Histogram()
        self._gc_started = 0.0
        self._failures: dict[str, list[float]] = defaultdict(list)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._flush_lock = asyncio.Lock()
        self.server: Server | None = None

    # -- plumbing

    async def db(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run Django code in the bounded pool; the event loop keeps serving meanwhile."""
        loop = asyncio.get_running_loop()
        self.db_waiting += 1
        try:
            return await loop.run_in_executor(
                self.executor, functools.partial(_db_call, fn, kwargs)
            )
        finally:
            self.db_waiting -= 1

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def queue_sample(self, sample: SampleIn) -> None:
        self.samples.append(sample)
        if len(self.samples) >= 2000:
            self.spawn(self.flush())

    async def flush(self) -> None:
        """Write buffered heartbeats and meter values (also on demand, e.g. before a stop)."""
        async with self._flush_lock:
            seen, self.seen = self.seen, set()
            samples, self.samples = self.samples, []
            statuses, self.statuses = self.statuses, {}
            if seen:
                await self.db(services.stations_seen, station_ids=seen, at=_now())
            if statuses:
                await self.db(services.connector_statuses_store, statuses=statuses)
            if samples:
                await self.db(services.meter_samples_store, samples=samples)

    def stats(self) -> dict[str, Any]:
        """Connections, counters, the server-side handling time of calls (arrival to answer
        sent) and the event loop's lag; the bucket counts let a reader take differences."""
        return {
            "connections": len(self.connections),
            **self.counters,
            "db_waiting": self.db_waiting,
            "handled": self.handling.total,
            **self.handling.summary("handling"),
            **self.loop_lag.summary("loop_lag"),
            "gc_collections": self.gc_pauses.total,
            **self.gc_pauses.summary("gc_pause"),
            "handling_buckets": self.handling.counts,
            "loop_lag_buckets": self.loop_lag.counts,
            "gc_pause_buckets": self.gc_pauses.counts,
        }

    async def _write_stats(self) -> None:
        if self.stats_file:
            data = json.dumps(self.stats())
            await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(_write_text, self.stats_file, data)
            )

    # -- handshake

    def _guessing(self, address: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self._failures[address] if now - t < 60]
        self._failures[address] = recent
        return len(recent) >= self.max_failures_per_minute

    def _refuse(self, connection: ServerConnection, address: str, reason: str) -> Response:
        self._failures[address].append(time.monotonic())
        self.counters["refused"] += 1
        logger.warning("ocpp handshake refused", extra={"reason": reason, "client": address})
        response = connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
        response.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
        return response

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        address = str((connection.remote_address or ("?",))[0])
        match = IDENTITY_RE.fullmatch(request.path.split("?", 1)[0])
        if match is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not found\n")
        offered = {
            p.strip()
            for value in request.headers.get_all("Sec-WebSocket-Protocol")
            for p in value.split(",")
        }
        if not offered & set(SUBPROTOCOLS):
            return connection.respond(HTTPStatus.BAD_REQUEST, "Offer ocpp1.6 or ocpp2.0.1\n")
        if self._guessing(address):
            self.counters["throttled"] += 1
            return connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "Too many failed attempts\n")
        identity = match.group(1)
        row = await self.db(selectors.station_credentials, identity=identity)
        if row is None:
            return self._refuse(connection, address, "unknown station")
        authorised = False
        ssl_object = connection.transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if row["certificate_fingerprint"]:
            # Security profile 3: the registered certificate and nothing else.
            expected = row["certificate_fingerprint"].lower().replace(":", "")
            authorised = der is not None and hashlib.sha256(der).hexdigest() == expected
        else:
            header = request.headers.get("Authorization", "")
            if header.startswith("Basic ") and row["password_hash"]:
                try:
                    user, _sep, secret = (
                        base64.b64decode(header[6:], validate=True).decode().partition(":")
                    )
                except (binascii.Error, UnicodeDecodeError):
                    user, secret = "", ""
                authorised = user == identity and services.password_check(
                    secret, row["password_hash"]
                )
        if not authorised:
            return self._refuse(connection, address, f"bad credentials for {identity}")
        connection.rathaus_station = StationInfo(row["pk"], row["municipality_id"], identity)  # type: ignore[attr-defined]
        return None

    # -- connections

    async def _handler(self, ws: ServerConnection) -> None:
        info: StationInfo = ws.rathaus_station  # type: ignore[attr-defined]
        version = SUBPROTOCOLS.get(ws.subprotocol or "")
        if version is None:
            await ws.close(1002, "subprotocol required")
            return
        cls = Station16 if version == "1.6" else Station201
        cp = cls(info, ws, self)
        previous = self.connections.get(info.station_id)
        self.connections[info.station_id] = cp
        if previous is not None:
            # A station that reconnects before we noticed the old socket die replaces it.
            self.spawn(previous._connection.close(1000, "replaced by a new connection"))  # type: ignore[attr-defined]
        self.counters["connections"] += 1
        await self.db(services.station_connected, station_id=info.station_id, ocpp_version=version)
        try:
            await cp.start()
        except ConnectionClosed:
            pass
        finally:
            if self.connections.get(info.station_id) is cp:
                del self.connections[info.station_id]
                await self.db(services.station_disconnected, station_id=info.station_id)

    # -- commands

    async def dispatch_commands(self) -> int:
        """Send the queued commands of connected stations; returns how many were sent."""
        if not self.connections:
            return 0
        claimed = await self.db(services.commands_claim, station_ids=list(self.connections))
        for command in claimed:
            self.spawn(self._send_command(command))
        return len(claimed)

    async def _send_command(self, command: services.CommandOut) -> None:
        cp = self.connections.get(command.station_id)
        accepted, error = False, ""
        data: dict[str, Any] = {}
        if cp is None:
            error = "station disconnected"
        else:
            try:
                payload = build_call(cp.version, command.action, command.params, command.id)
                response = await cp.call(payload, suppress=False)  # type: ignore[attr-defined]
                accepted, data = interpret(response)
            except TimeoutError:
                error = "no answer in time"
            except OCPPError as exc:
                error = f"{exc.code}: {exc.description}"
            except ConnectionClosed:
                error = "connection closed"
            except (KeyError, ValueError, TypeError) as exc:
                error = f"invalid command: {exc}"
        await self.db(
            services.command_result_record,
            command_id=command.id,
            accepted=accepted,
            response=json.loads(json.dumps(data, default=str)),
            error=error,
        )

    # -- life cycle

    async def _every(self, seconds: float, job: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:  # a failed round must not stop the loop
                logger.exception("ocpp background job failed")

    async def _expire(self) -> None:
        await self.db(services.commands_expire)

    async def start(self) -> None:
        _wire_logging()
        gc.callbacks.append(self._gc_timer)
        await self.db(services.stations_all_offline)
        self.server = await serve(
            self._handler,
            self.host,
            self.port,
            ssl=self.ssl_context,
            subprotocols=list(SUBPROTOCOLS),  # type: ignore[arg-type]
            process_request=self._process_request,
            max_size=64 * 1024,
            # OCPP frames are a few hundred bytes: deflate would cost CPU on the event loop
            # and a zlib context per connection for next to no saved bytes.
            compression=None,
            ping_interval=None if self.heartbeat_interval < 60 else 120,
            open_timeout=30,
        )
        sockets = list(self.server.sockets)
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self.spawn(self._every(self.flush_interval, self.flush))
        self.spawn(self._every(self.poll_interval, self.dispatch_commands))
        self.spawn(self._every(60, self._expire))
        self.spawn(loop_lag_watch(self.loop_lag))
        if self.stats_file:
            self.spawn(self._every(5, self._write_stats))
        logger.info("ocpp central system listening", extra={"port": self.port})

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()
        await self.db(services.stations_all_offline)
        self._close_thread_connections()
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._gc_timer)

    def _gc_timer(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            self.gc_pauses.add(time.perf_counter() - self._gc_started)

    def _close_thread_connections(self) -> None:
        # Every worker thread holds its own database connection; close each one so that
        # a test database can be dropped and PostgreSQL sees no idle sessions.
        barrier = threading.Barrier(self.db_workers, timeout=5)

        def close() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
            connection.close()

        futures = [self.executor.submit(close) for _ in range(self.db_workers)]
        for future in futures:
            future.result()
        self.executor.shutdown(wait=True)

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Future()
        finally:
            await self.stop()
