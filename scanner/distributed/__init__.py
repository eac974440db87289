"""Distributed sweeps: scan workers per network zone behind a broker, and the coordinator."""
