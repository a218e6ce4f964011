"""rathaus.buergerbuero: appointments, walk-in tickets, counters, call display, waiting times."""
