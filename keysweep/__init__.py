"""keysweep's public Python API, under the distribution's name.

``import keysweep`` is the stable way in (the implementation package is ``scanner``, a name an
unrelated PyPI project also uses). See docs/api.md.
"""

from scanner import __version__
from scanner.api import KeysweepError, ScanResult, load_report, scan

__all__ = ["KeysweepError", "ScanResult", "__version__", "load_report", "scan"]
