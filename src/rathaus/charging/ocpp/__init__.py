"""OCPP 1.6J and 2.0.1 over websockets: the central system and a charge point simulator."""

SUBPROTOCOLS = {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1"}
