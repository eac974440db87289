"""Cross-reference checks of a CycloneDX document: every bom-ref used is defined, every component
is in the dependency graph."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for component in components:
        yield component
        yield from walk(component.get("components", []))


def used_refs(node: Any) -> Iterator[str]:
    """Every bom-ref a document uses (not defines): *Ref fields, algorithms, cryptoRefArray, ..."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("Ref") and isinstance(value, str):
                yield value
            elif key in ("algorithms", "cryptoRefArray", "dependsOn", "assemblies") and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            elif key == "ref" and isinstance(value, str):
                yield value
            else:
                yield from used_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from used_refs(item)


def check_references(document: dict[str, Any]) -> None:
    defined = {c["bom-ref"] for c in walk(document["components"])}
    assert len(defined) == len(list(walk(document["components"]))), "a bom-ref is defined twice"
    missing = set(used_refs({"components": document["components"], "dependencies": document["dependencies"],
                             "compositions": document["compositions"]})) - defined  # fmt: skip
    assert not missing, sorted(missing)[:10]
    assert {d["ref"] for d in document["dependencies"]} == defined  # every component is in the graph
