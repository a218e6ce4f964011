"""rathaus: a digital city hall for German municipalities."""

__version__ = "0.1.0"
