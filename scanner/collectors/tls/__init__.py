"""The TLS endpoint collector: sslyze's scan commands plus keysweep's own post-quantum probe."""
