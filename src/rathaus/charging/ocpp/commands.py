"""Operator commands translated to OCPP calls of the station's version, and back.

A ``Command`` row names a neutral action (``remote_start``) with neutral parameters; the
central system builds the 1.6 or 2.0.1 call here and reads the station's answer.
"""

from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v16 import call as call16  # type: ignore[import-untyped]
from ocpp.v201 import call as call201  # type: ignore[import-untyped]

# 2.0.1 components for the 1.6 configuration keys operators know best.
_KEY_201 = {
    "HeartbeatInterval": ("OCPPCommCtrlr", "HeartbeatInterval"),
    "MeterValueSampleInterval": ("SampledDataCtrlr", "TxUpdatedInterval"),
}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _variable(key: str) -> dict[str, Any]:
    if "/" in key:
        component, variable = key.split("/", 1)
    else:
        component, variable = _KEY_201.get(key, ("ChargingStation", key))
    return {"component": {"name": component[:50]}, "variable": {"name": variable[:50]}}


def build_call(version: str, action: str, params: dict[str, Any], command_id: int) -> Any:
    """The OCPP request payload object for ``action`` in ``version``."""
    now = datetime.now(UTC)
    if version == "1.6":
        return _build_16(action, params, command_id, now)
    return _build_201(action, params, command_id, now)


def _build_16(action: str, p: dict[str, Any], command_id: int, now: datetime) -> Any:
    if action == "remote_start":
        return call16.RemoteStartTransaction(id_tag=p["id_tag"], connector_id=p["connector_id"])
    if action == "remote_stop":
        return call16.RemoteStopTransaction(transaction_id=int(p["transaction_ref"]))
    if action == "reset":
        return call16.Reset(type=p.get("kind", "Soft"))
    if action == "unlock":
        return call16.UnlockConnector(connector_id=p["connector_id"])
    if action == "get_configuration":
        return call16.GetConfiguration(key=[p["key"]] if p.get("key") else None)
    if action == "change_configuration":
        return call16.ChangeConfiguration(key=p["key"], value=str(p.get("value", "")))
    if action == "trigger_message":
        return call16.TriggerMessage(
            requested_message=p["message"], connector_id=p.get("connector_id") or None
        )
    if action == "update_firmware":
        return call16.UpdateFirmware(location=p["location"], retrieve_date=_iso(now))
    if action == "get_diagnostics":
        return call16.GetDiagnostics(location=p["location"])
    if action == "reserve":
        return call16.ReserveNow(
            connector_id=p["connector_id"],
            expiry_date=p.get("expires_at") or _iso(now + timedelta(minutes=15)),
            id_tag=p["id_tag"],
            reservation_id=p["reservation_id"],
        )
    if action == "cancel_reservation":
        return call16.CancelReservation(reservation_id=p["reservation_id"])
    if action == "set_charging_profile":
        return call16.SetChargingProfile(
            connector_id=0,
            cs_charging_profiles={
                "chargingProfileId": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "ChargePointMaxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": {
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": float(int(p["limit_w"]))}
                    ],
                },
            },
        )
    raise ValueError(f"unknown action {action!r}")


def _id_token(tag: str) -> dict[str, str]:
    return {"idToken": tag, "type": "ISO14443"}


def _build_201(action: str, p: dict[str, Any], command_id: int, now: datetime) -> Any:
    if action == "remote_start":
        return call201.RequestStartTransaction(
            id_token=_id_token(p["id_tag"]), remote_start_id=command_id, evse_id=p["connector_id"]
        )
    if action == "remote_stop":
        return call201.RequestStopTransaction(transaction_id=str(p["transaction_ref"]))
    if action == "reset":
        return call201.Reset(type="Immediate" if p.get("kind") == "Hard" else "OnIdle")
    if action == "unlock":
        return call201.UnlockConnector(evse_id=p["connector_id"], connector_id=1)
    if action == "get_configuration":
        if not p.get("key"):
            return call201.GetBaseReport(
                request_id=command_id, report_base="ConfigurationInventory"
            )
        return call201.GetVariables(get_variable_data=[_variable(p["key"])])
    if action == "change_configuration":
        return call201.SetVariables(
            set_variable_data=[
                {"attributeValue": str(p.get("value", ""))[:1000], **_variable(p["key"])}
            ]
        )
    if action == "trigger_message":
        evse = {"id": p["connector_id"]} if p.get("connector_id") else None
        return call201.TriggerMessage(requested_message=p["message"], evse=evse)
    if action == "update_firmware":
        return call201.UpdateFirmware(
            request_id=command_id,
            firmware={"location": p["location"][:512], "retrieveDateTime": _iso(now)},
        )
    if action == "get_diagnostics":
        return call201.GetLog(
            log={"remoteLocation": p["location"][:512]},
            log_type="DiagnosticsLog",
            request_id=command_id,
        )
    if action == "reserve":
        return call201.ReserveNow(
            id=p["reservation_id"],
            expiry_date_time=p.get("expires_at") or _iso(now + timedelta(minutes=15)),
            id_token=_id_token(p["id_tag"]),
            evse_id=p["connector_id"],
        )
    if action == "cancel_reservation":
        return call201.CancelReservation(reservation_id=p["reservation_id"])
    if action == "set_charging_profile":
        return call201.SetChargingProfile(
            evse_id=0,
            charging_profile={
                "id": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "ChargingStationMaxProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": [
                    {
                        "id": 1,
                        "startSchedule": _iso(now),
                        "chargingRateUnit": "W",
                        "chargingSchedulePeriod": [
                            {"startPeriod": 0, "limit": float(int(p["limit_w"]))}
                        ],
                    }
                ],
            },
        )
    raise ValueError(f"unknown action {action!r}")


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def interpret(response: Any) -> tuple[bool, dict[str, Any]]:
    """Whether the station accepted, and its answer as JSON data."""
    data = _plain(response)
    if not isinstance(data, dict):
        return True, {}
    status = data.get("status")
    if status is not None:
        return str(status) in ("Accepted", "Unlocked"), data
    results = data.get("set_variable_result") or data.get("get_variable_result")
    if results:
        return all(str(r.get("attribute_status")) == "Accepted" for r in results), data
    # GetConfiguration, GetDiagnostics, UpdateFirmware (1.6) answer without a status.
    return True, data
