"""Scan history: every scan's JSON report kept in a SQLite store, for `history`, `diff` and trends."""
