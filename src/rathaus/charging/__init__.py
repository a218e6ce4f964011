"""rathaus.charging: the OCPP central system for municipal charging stations."""
