"""Importers: peers ' results (sslyze, testssl.sh, ssh-audit, CycloneDX CBOMs) as keysweep observations."""
