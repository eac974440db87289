"""An example keysweep plugin package (see README.md beside it)."""
