"""A charge point simulator speaking OCPP 1.6J or 2.0.1 over a real websocket.

Used by the tests, the benchmark and ``rathaus ocpp simulate``. A simulated station
boots, reports its connectors, charges (locally or on a remote start), sends meter
values, obeys commands (reset, unlock, configuration, trigger, firmware, diagnostics,
reservations, charging profiles), and can go offline: while offline it queues its
transaction messages and replays them in order after reconnecting, as real stations do.
"""

import asyncio
import base64
import contextlib
import itertools
import ssl
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import after, on  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint as ChargePoint16  # type: ignore[import-untyped]
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201  # type: ignore[import-untyped]
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import ClientConnection, connect


def _iso(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Transaction:
    connector_id: int
    id_tag: str
    ref: str  # 1.6: the central system's id once known ("" while offline); 2.0.1: our uuid
    local: str = field(default_factory=lambda: uuid.uuid4().hex)
    start_payload: dict[str, Any] | None = None
    energy_wh: int = 0
    seq_no: int = 0


class SimulatedStation:
    """One simulated charge point; see the module docstring."""

    def __init__(
        self,
        *,
        url: str,
        identity: str,
        password: str | None = None,
        version: str = "1.6",
        ssl_context: ssl.SSLContext | None = None,
        connectors: int = 1,
        accept_profiles: bool = True,
        response_timeout: int = 30,
    ) -> None:
        self.url = url.rstrip("/") + "/" + identity
        self.identity = identity
        self.password = password
        self.version = version
        self.ssl_context = ssl_context
        self.connectors = connectors
        self.accept_profiles = accept_profiles
        self.response_timeout = response_timeout
        self.ws: ClientConnection | None = None
        self.cp: Any = None
        self._reader: asyncio.Task[Any] | None = None
        self.offline = False
        self.queue: list[tuple[str, dict[str, Any], Transaction | None]] = []
        self.transactions: dict[int, Transaction] = {}
        self.rtts: list[float] = []
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.profile_limits: list[float] = []
        self.configuration: dict[str, str] = {"HeartbeatInterval": "60"}
        self.events: asyncio.Queue[str] = asyncio.Queue()
        self._seq = itertools.count()

    # -- connection

    async def connect(self) -> None:
        headers = {}
        if self.password is not None:
            token = base64.b64encode(f"{self.identity}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self.ws = await connect(
            self.url,
            subprotocols=[f"ocpp{self.version}"],  # type: ignore[list-item]
            additional_headers=headers,
            ssl=self.ssl_context,
            open_timeout=30,
            ping_interval=None,
        )
        cls = _Sim16 if self.version == "1.6" else _Sim201
        self.cp = cls(self.identity, self.ws, response_timeout=self.response_timeout)
        self.cp.sim = self
        self._reader = asyncio.ensure_future(self._read())
        self.offline = False

    async def _read(self) -> None:
        # The connection ended; the owner decides what next.
        with contextlib.suppress(Exception):
            await self.cp.start()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self.ws = None

    async def go_offline(self) -> None:
        """Lose the connection; transaction messages are queued from now on."""
        self.offline = True
        await self.close()

    async def reconnect_and_replay(self) -> list[Any]:
        """Come back online and send the queued messages in their original order."""
        await self.connect()
        await self.boot()
        answers = []
        queued, self.queue = self.queue, []
        for action, payload, tx in queued:
            if tx is not None and self.version == "1.6" and action != "StartTransaction":
                payload["transaction_id"] = int(tx.ref)
            answer = await self._call(getattr(self._call_module, action)(**payload))
            if action == "StartTransaction" and tx is not None:
                tx.ref = str(answer.transaction_id)
            answers.append(answer)
        return answers

    @property
    def _call_module(self) -> Any:
        return call16 if self.version == "1.6" else call201

    async def _call(self, payload: Any) -> Any:
        started = time.perf_counter()
        call = asyncio.ensure_future(self.cp.call(payload, suppress=False))
        assert self._reader is not None
        # A connection that dies while we wait must not leave us waiting for the timeout.
        await asyncio.wait({call, self._reader}, return_when=asyncio.FIRST_COMPLETED)
        if not call.done():
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)
            raise ConnectionError(
                f"{self.identity}: connection lost during {type(payload).__name__}"
            )
        answer = call.result()
        self.rtts.append(time.perf_counter() - started)
        return answer

    async def _tx_call(self, action: str, payload: dict[str, Any], tx: Transaction | None) -> Any:
        if self.offline:
            self.queue.append((action, payload, tx))
            return None
        return await self._call(getattr(self._call_module, action)(**payload))

    # -- messages a station sends

    async def boot(self) -> Any:
        if self.version == "1.6":
            return await self._call(
                call16.BootNotification(
                    charge_point_vendor="rathaus",
                    charge_point_model="Simulator",
                    firmware_version="1.0",
                )
            )
        return await self._call(
            call201.BootNotification(
                charging_station={
                    "vendorName": "rathaus",
                    "model": "Simulator",
                    "firmwareVersion": "1.0",
                },
                reason="PowerUp",
            )
        )

    async def heartbeat(self) -> Any:
        return await self._call(self._call_module.Heartbeat())

    async def status(self, connector_id: int, status: str, error_code: str = "NoError") -> Any:
        if self.version == "1.6":
            return await self._call(
                call16.StatusNotification(
                    connector_id=connector_id,
                    error_code=error_code,
                    status=status,
                    timestamp=_iso(),
                )
            )
        status201 = {
            "Charging": "Occupied",
            "Preparing": "Occupied",
            "Finishing": "Occupied",
            "SuspendedEV": "Occupied",
        }.get(status, status)
        return await self._call(
            call201.StatusNotification(
                timestamp=_iso(), connector_status=status201, evse_id=connector_id, connector_id=1
            )
        )

    async def boot_and_report(self) -> None:
        await self.boot()
        for connector_id in range(1, self.connectors + 1):
            await self.status(connector_id, "Available")

    async def authorize(self, id_tag: str) -> str:
        if self.version == "1.6":
            answer = await self._call(call16.Authorize(id_tag=id_tag))
            return str(answer.id_tag_info["status"])
        answer = await self._call(
            call201.Authorize(id_token={"idToken": id_tag, "type": "ISO14443"})
        )
        return str(answer.id_token_info["status"])

    async def start_transaction(
        self, connector_id: int, id_tag: str, *, meter_start: int = 0, at: datetime | None = None
    ) -> Transaction:
        tx = Transaction(connector_id=connector_id, id_tag=id_tag, ref="", energy_wh=meter_start)
        self.transactions[connector_id] = tx
        if not self.offline:
            await self.status(connector_id, "Charging")
        if self.version == "1.6":
            payload = {
                "connector_id": connector_id,
                "id_tag": id_tag,
                "meter_start": meter_start,
                "timestamp": _iso(at),
            }
            tx.start_payload = payload
            answer = await self._tx_call("StartTransaction", payload, tx)
            if answer is not None:
                tx.ref = str(answer.transaction_id)
        else:
            tx.ref = uuid.uuid4().hex
            payload = self._event(
                tx, "Started", "Authorized", at, id_token=id_tag, energy=meter_start
            )
            await self._tx_call("TransactionEvent", payload, tx)
        await self.events.put(f"started:{connector_id}")
        return tx

    async def resend_start(self, connector_id: int) -> Transaction:
        """Send an unanswered 1.6 StartTransaction again, unchanged, as stations do."""
        tx = self.transactions[connector_id]
        assert tx.start_payload is not None
        answer = await self._call(call16.StartTransaction(**tx.start_payload))
        tx.ref = str(answer.transaction_id)
        return tx

    def _event(
        self,
        tx: Transaction,
        event_type: str,
        trigger: str,
        at: datetime | None,
        *,
        id_token: str | None = None,
        energy: int | None = None,
        power: int | None = None,
        state: str = "Charging",
        stopped_reason: str | None = None,
    ) -> dict[str, Any]:
        info: dict[str, Any] = {"transactionId": tx.ref, "chargingState": state}
        if stopped_reason:
            info["stoppedReason"] = stopped_reason
        payload: dict[str, Any] = {
            "event_type": event_type,
            "timestamp": _iso(at),
            "trigger_reason": trigger,
            "seq_no": tx.seq_no,
            "transaction_info": info,
            "evse": {"id": tx.connector_id, "connectorId": 1},
        }
        tx.seq_no += 1
        if self.offline:
            payload["offline"] = True
        if id_token:
            payload["id_token"] = {"idToken": id_token, "type": "ISO14443"}
        if energy is not None:
            sampled: list[dict[str, Any]] = [
                {
                    "value": energy,
                    "measurand": "Energy.Active.Import.Register",
                    "unitOfMeasure": {"unit": "Wh"},
                }
            ]
            if power is not None:
                sampled.append(
                    {
                        "value": power,
                        "measurand": "Power.Active.Import",
                        "unitOfMeasure": {"unit": "W"},
                    }
                )
            payload["meter_value"] = [{"timestamp": _iso(at), "sampledValue": sampled}]
        return payload

    async def meter(
        self, connector_id: int, energy_wh: int, *, power_w: int = 11000, at: datetime | None = None
    ) -> Any:
        """Send a reading of the connector's running transaction (energy register in Wh)."""
        tx = self.transactions[connector_id]
        tx.energy_wh = energy_wh
        if self.version == "1.6":
            payload = {
                "connector_id": connector_id,
                "transaction_id": int(tx.ref) if tx.ref else 0,
                "meter_value": [
                    {
                        "timestamp": _iso(at),
                        "sampledValue": [
                            {
                                "value": str(energy_wh),
                                "measurand": "Energy.Active.Import.Register",
                                "unit": "Wh",
                            },
                            {
                                "value": str(power_w),
                                "measurand": "Power.Active.Import",
                                "unit": "W",
                            },
                        ],
                    }
                ],
            }
            return await self._tx_call("MeterValues", payload, tx)
        payload = self._event(
            tx, "Updated", "MeterValuePeriodic", at, energy=energy_wh, power=power_w
        )
        return await self._tx_call("TransactionEvent", payload, tx)

    async def stop_transaction(
        self, connector_id: int, *, reason: str = "Local", at: datetime | None = None
    ) -> Any:
        tx = self.transactions.pop(connector_id)
        if self.version == "1.6":
            payload = {
                "meter_stop": tx.energy_wh,
                "timestamp": _iso(at),
                "transaction_id": int(tx.ref) if tx.ref else 0,
                "reason": reason,
            }
            answer = await self._tx_call("StopTransaction", payload, tx)
        else:
            payload = self._event(
                tx,
                "Ended",
                "StopAuthorized" if reason == "Local" else "RemoteStop",
                at,
                energy=tx.energy_wh,
                state="EVConnected",
                stopped_reason=reason,
            )
            answer = await self._tx_call("TransactionEvent", payload, tx)
        if not self.offline:
            await self.status(connector_id, "Available")
        await self.events.put(f"stopped:{connector_id}")
        return answer

    async def send_raw(self, text: str) -> Any:
        """Send a frame as is and return the next frame received (for hostile-input tests)."""
        assert self.ws is not None
        # Take over reading from the protocol loop for one answer.
        assert self._reader is not None
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        await self.ws.send(text)
        answer = await asyncio.wait_for(self.ws.recv(), timeout=10)
        self._reader = asyncio.ensure_future(self._read())
        return answer

    async def run(self, *, duration: float, interval: float = 60.0, charging: bool = True) -> None:
        """Heartbeat and (while charging) meter values every ``interval`` for ``duration``."""
        loop = asyncio.get_running_loop()
        end = loop.time() + duration
        while loop.time() < end:
            await self.heartbeat()
            if charging:
                for connector_id, tx in list(self.transactions.items()):
                    await self.meter(connector_id, tx.energy_wh + 180)
            await asyncio.sleep(min(interval, max(0.0, end - loop.time())))

    # -- what the central system asks

    def _record(self, action: str, payload: dict[str, Any]) -> None:
        self.received.append((action, payload))
        self.events.put_nowait(action)


class _Sim16(ChargePoint16):
    sim: SimulatedStation

    @on("RemoteStartTransaction")
    def on_remote_start(self, id_tag: str, connector_id: int = 1, **kw: Any) -> Any:
        self.sim._record("RemoteStartTransaction", {"id_tag": id_tag, "connector_id": connector_id})
        busy = connector_id in self.sim.transactions
        return result16.RemoteStartTransaction(status="Rejected" if busy else "Accepted")

    @after("RemoteStartTransaction")
    async def after_remote_start(self, id_tag: str, connector_id: int = 1, **kw: Any) -> None:
        if connector_id not in self.sim.transactions:
            await self.sim.start_transaction(connector_id, id_tag)

    @on("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id: int) -> Any:
        self.sim._record("RemoteStopTransaction", {"transaction_id": transaction_id})
        known = any(tx.ref == str(transaction_id) for tx in self.sim.transactions.values())
        return result16.RemoteStopTransaction(status="Accepted" if known else "Rejected")

    @after("RemoteStopTransaction")
    async def after_remote_stop(self, transaction_id: int) -> None:
        for connector_id, tx in list(self.sim.transactions.items()):
            if tx.ref == str(transaction_id):
                await self.sim.stop_transaction(connector_id, reason="Remote")

    @on("SetChargingProfile")
    def on_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
        limit = float(
            cs_charging_profiles["charging_schedule"]["charging_schedule_period"][0]["limit"]
        )
        self.sim._record("SetChargingProfile", {"limit": limit})
        if self.sim.accept_profiles:
            self.sim.profile_limits.append(limit)
        return result16.SetChargingProfile(
            status="Accepted" if self.sim.accept_profiles else "Rejected"
        )

    @on("Reset")
    def on_reset(self, type: str) -> Any:
        self.sim._record("Reset", {"type": type})
        return result16.Reset(status="Accepted")

    @on("UnlockConnector")
    def on_unlock(self, connector_id: int) -> Any:
        self.sim._record("UnlockConnector", {"connector_id": connector_id})
        return result16.UnlockConnector(status="Unlocked")

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None) -> Any:
        self.sim._record("GetConfiguration", {"key": key})
        keys = key or list(self.sim.configuration)
        known = [
            {"key": k, "readonly": False, "value": self.sim.configuration[k]}
            for k in keys
            if k in self.sim.configuration
        ]
        unknown = [k for k in keys if k not in self.sim.configuration]
        return result16.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str) -> Any:
        self.sim._record("ChangeConfiguration", {"key": key, "value": value})
        self.sim.configuration[key] = value
        return result16.ChangeConfiguration(status="Accepted")

    @on("TriggerMessage")
    def on_trigger(self, requested_message: str, connector_id: int | None = None) -> Any:
        self.sim._record("TriggerMessage", {"requested_message": requested_message})
        return result16.TriggerMessage(status="Accepted")

    @after("TriggerMessage")
    async def after_trigger(self, requested_message: str, connector_id: int | None = None) -> None:
        if requested_message == "Heartbeat":
            await self.sim.heartbeat()
        elif requested_message == "BootNotification":
            await self.sim.boot()
        elif requested_message == "StatusNotification":
            await self.sim.status(connector_id or 1, "Available")

    @on("UpdateFirmware")
    def on_firmware(self, location: str, retrieve_date: str, **kw: Any) -> Any:
        self.sim._record("UpdateFirmware", {"location": location})
        return result16.UpdateFirmware()

    @on("GetDiagnostics")
    def on_diagnostics(self, location: str, **kw: Any) -> Any:
        self.sim._record("GetDiagnostics", {"location": location})
        return result16.GetDiagnostics(file_name="diagnostics.log")

    @on("ReserveNow")
    def on_reserve(
        self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int, **kw: Any
    ) -> Any:
        self.sim._record(
            "ReserveNow", {"reservation_id": reservation_id, "connector_id": connector_id}
        )
        return result16.ReserveNow(status="Accepted")

    @on("CancelReservation")
    def on_cancel_reservation(self, reservation_id: int) -> Any:
        self.sim._record("CancelReservation", {"reservation_id": reservation_id})
        return result16.CancelReservation(status="Accepted")


class _Sim201(ChargePoint201):
    sim: SimulatedStation

    @on("RequestStartTransaction")
    def on_remote_start(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int = 1, **kw: Any
    ) -> Any:
        self.sim._record(
            "RequestStartTransaction", {"id_tag": id_token["id_token"], "evse_id": evse_id}
        )
        busy = evse_id in self.sim.transactions
        return result201.RequestStartTransaction(status="Rejected" if busy else "Accepted")

    @after("RequestStartTransaction")
    async def after_remote_start(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int = 1, **kw: Any
    ) -> None:
        if evse_id not in self.sim.transactions:
            await self.sim.start_transaction(evse_id, id_token["id_token"])

    @on("RequestStopTransaction")
    def on_remote_stop(self, transaction_id: str, **kw: Any) -> Any:
        self.sim._record("RequestStopTransaction", {"transaction_id": transaction_id})
        known = any(tx.ref == transaction_id for tx in self.sim.transactions.values())
        return result201.RequestStopTransaction(status="Accepted" if known else "Rejected")

    @after("RequestStopTransaction")
    async def after_remote_stop(self, transaction_id: str, **kw: Any) -> None:
        for connector_id, tx in list(self.sim.transactions.items()):
            if tx.ref == transaction_id:
                await self.sim.stop_transaction(connector_id, reason="Remote")

    @on("SetChargingProfile")
    def on_profile(self, evse_id: int, charging_profile: dict[str, Any], **kw: Any) -> Any:
        limit = float(
            charging_profile["charging_schedule"][0]["charging_schedule_period"][0]["limit"]
        )
        self.sim._record("SetChargingProfile", {"limit": limit})
        if self.sim.accept_profiles:
            self.sim.profile_limits.append(limit)
        return result201.SetChargingProfile(
            status="Accepted" if self.sim.accept_profiles else "Rejected"
        )

    @on("Reset")
    def on_reset(self, type: str, **kw: Any) -> Any:
        self.sim._record("Reset", {"type": type})
        return result201.Reset(status="Accepted")

    @on("UnlockConnector")
    def on_unlock(self, evse_id: int, connector_id: int, **kw: Any) -> Any:
        self.sim._record("UnlockConnector", {"connector_id": evse_id})
        return result201.UnlockConnector(status="Unlocked")

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
        self.sim._record("GetVariables", {"data": get_variable_data})
        results = []
        for item in get_variable_data:
            name = item["variable"]["name"]
            value = self.sim.configuration.get(name)
            result: dict[str, Any] = {
                "attributeStatus": "Accepted" if value is not None else "UnknownVariable",
                "component": item["component"],
                "variable": item["variable"],
            }
            if value is not None:
                result["attributeValue"] = value
            results.append(result)
        return result201.GetVariables(get_variable_result=results)

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
        self.sim._record("SetVariables", {"data": set_variable_data})
        results = []
        for item in set_variable_data:
            self.sim.configuration[item["variable"]["name"]] = item["attribute_value"]
            results.append(
                {
                    "attributeStatus": "Accepted",
                    "component": item["component"],
                    "variable": item["variable"],
                }
            )
        return result201.SetVariables(set_variable_result=results)

    @on("GetBaseReport")
    def on_base_report(self, request_id: int, report_base: str, **kw: Any) -> Any:
        self.sim._record("GetBaseReport", {"report_base": report_base})
        return result201.GetBaseReport(status="Accepted")

    @on("TriggerMessage")
    def on_trigger(self, requested_message: str, **kw: Any) -> Any:
        self.sim._record("TriggerMessage", {"requested_message": requested_message})
        return result201.TriggerMessage(status="Accepted")

    @after("TriggerMessage")
    async def after_trigger(self, requested_message: str, **kw: Any) -> None:
        if requested_message == "Heartbeat":
            await self.sim.heartbeat()
        elif requested_message == "BootNotification":
            await self.sim.boot()

    @on("UpdateFirmware")
    def on_firmware(self, request_id: int, firmware: dict[str, Any], **kw: Any) -> Any:
        self.sim._record("UpdateFirmware", {"location": firmware["location"]})
        return result201.UpdateFirmware(status="Accepted")

    @on("GetLog")
    def on_get_log(self, log: dict[str, Any], log_type: str, request_id: int, **kw: Any) -> Any:
        self.sim._record("GetLog", {"location": log["remote_location"]})
        return result201.GetLog(status="Accepted", filename="diagnostics.log")

    @on("ReserveNow")
    def on_reserve(
        self, id: int, expiry_date_time: str, id_token: dict[str, Any], **kw: Any
    ) -> Any:
        self.sim._record("ReserveNow", {"reservation_id": id})
        return result201.ReserveNow(status="Accepted")

    @on("CancelReservation")
    def on_cancel_reservation(self, reservation_id: int, **kw: Any) -> Any:
        self.sim._record("CancelReservation", {"reservation_id": reservation_id})
        return result201.CancelReservation(status="Accepted")
