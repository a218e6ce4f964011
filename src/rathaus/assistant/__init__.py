"""rathaus.assistant: the service assistant and wayfinding for kiosk, robot, web and phone."""
