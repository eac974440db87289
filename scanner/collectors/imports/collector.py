"""The import collector: ``--import FILE`` (repeatable), each file's kind detected from its content.

Each file goes to the first importer (by name) whose ``detect`` recognises the JSON. A file no
importer recognises, or one that cannot be read, is an error naming the file; the scan goes on and
the other imports keep everything they gave.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from scanner import plugins
from scanner.collectors.base import CollectContext, Target
from scanner.collectors.imports.base import Importer, ImportFormatError, ImportSource
from scanner.inventory.model import CollectionError, Observation

log = logging.getLogger(__name__)
# peer tools' JSON for a whole estate stays far below this; more is not a result file
MAX_IMPORT_BYTES = 512 * 1024 * 1024


def importers() -> list[Importer]:
    return [cls() for cls in plugins.load_all(plugins.IMPORTERS).values()]


class ImportCollector:
    name: ClassVar[str] = "import"
    target_kinds: ClassVar[frozenset[str]] = frozenset({"import"})

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        known = importers()
        for target in targets:
            context.progress.target_started(self.name, target.value)
            errors = 0
            for item in self._one(Path(target.value).absolute(), known):
                errors += isinstance(item, CollectionError)
                yield item
            context.progress.target_finished(self.name, target.value, errors == 0)

    def _one(self, path: Path, known: list[Importer]) -> Iterator[Observation]:
        document = _read(path)
        if isinstance(document, CollectionError):
            yield document
            return
        importer = next((i for i in known if _detects(i, document)), None)
        if importer is None:
            names = ", ".join(i.name for i in known)
            yield CollectionError(str(path), self.name, f"not a result file keysweep can import ({names})")
            return
        source = ImportSource(path, importer.name)
        try:
            # what was yielded before a failure stays in the graph
            yield from importer.observations(document, source)
        except ImportFormatError as exc:
            yield source.error(str(exc))
        except Exception as exc:  # an importer bug costs this file's rest, never the scan
            log.exception("importer %s failed on %s", importer.name, path)
            yield source.error(f"import failed: {type(exc).__name__}: {exc}")


def _detects(importer: Importer, document: Any) -> bool:
    try:
        return importer.detect(document)
    except Exception:  # detection looks at shape only; a surprise there means "not mine"
        return False


def _read(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            return CollectionError(str(path), "import", f"{size} bytes is larger than an import can be")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        return CollectionError(str(path), "import", f"cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError:
        return CollectionError(str(path), "import", "not UTF-8 text (an import is a JSON file)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return CollectionError(str(path), "import", f"not JSON: {exc.msg} at line {exc.lineno}")
    except RecursionError:  # hostile nesting: no peer tool writes thousands of levels
        return CollectionError(str(path), "import", "not a result file: JSON nested too deeply")
