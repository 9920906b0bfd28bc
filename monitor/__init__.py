"""heatmon: an offline, real-time heat monitor for customer calls."""

__version__ = "0.1.0"
