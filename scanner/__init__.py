"""keysweep: crypto inventory auditor and compliance scanner.

The public Python API is ``import keysweep`` (``scan``, ``ScanResult``, ``load_report``,
``KeysweepError``; implemented in ``scanner.api``). Other modules are internal. (``scanner.scan``
is the scan pipeline's module, which is why the API is not re-exported here.)
"""

__version__ = "0.1.0"
# the project's home: SARIF's informationUri, OSCAL's property namespace and [project.urls] in
# pyproject.toml (tests/test_packaging.py keeps them equal)
PROJECT_URL = "https://github.com/keysweep/keysweep"
