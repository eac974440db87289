"""keysweep: crypto inventory auditor and compliance scanner.

The public Python API is ``import keysweep`` (``scan``, ``ScanResult``, ``load_report``,
``KeysweepError``; implemented in ``scanner.api``). Other modules are internal. (``scanner.scan``
is the scan pipeline's module, which is why the API is not re-exported here.)
"""

__version__ = "0.1.0"
