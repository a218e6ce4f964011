"""rathaus.parking: parking management, guidance and open parking data."""
