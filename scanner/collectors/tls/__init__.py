"""The TLS endpoint collector: sslyze's scan commands in worker processes, plus keysweep's own probes."""
