"""The fleet: signed bundles from hosts that cannot reach the store, ingest, and one view of every scope."""
