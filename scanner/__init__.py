"""keysweep: crypto inventory auditor and compliance scanner."""

__version__ = "0.1.0"
