"""ssh-audit's ``-j`` JSON: each server as an ``ssh-endpoint`` (``ssh:<host>:<port>``).

Properties follow DESIGN.md's second round (host, port, software, kex, host_key_algorithms,
ciphers, macs, pq_key_exchange). One server per file, or a list of them (``-T`` with ``-j``).
The algorithm lists are also given as one ``ssh_contexts`` entry, the shape the sshd_config
collector gives, so that the same SSH rules judge an imported server and a config file.
Limits of the format: ssh-audit 2.x does not record the port (22, its default, is assumed and
said so; 3.x writes it), and host keys come only as SSH fingerprints, from which no SPKI (and so
no ``key:spki-sha256:`` id) can be derived: they are kept as ``host_keys`` on the endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from scanner.collectors.imports.base import ImportSource
from scanner.inventory import knowledge
from scanner.inventory.model import Asset, AssetType, Observation, freeze
from scanner.targets import TargetError, format_endpoint, parse_endpoint

SSH_DEFAULT_PORT = 22
# markers in the KEX list that are extensions, not key exchanges (RFC 8308, Terrapin's strict KEX)
_KEX_MARKERS = ("ext-info-", "kex-strict-")


def _names(entries: Any) -> list[str]:
    # 2.x lists names for enc/mac and {"algorithm": ...} for kex/key; later versions use objects throughout
    return [str(e["algorithm"] if isinstance(e, dict) else e) for e in entries or []]


def _is_server(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("banner"), dict)
        and "kex" in document
        and ("enc" in document or "key" in document)
    )


class SshAuditImporter:
    name: ClassVar[str] = "ssh-audit"

    def detect(self, document: Any) -> bool:
        # one server, or a list of them (``-T targets.txt`` with ``-j``)
        servers = document if isinstance(document, list) else [document]
        return bool(servers) and all(_is_server(s) for s in servers)

    def observations(self, document: Any, source: ImportSource) -> Iterator[Observation]:
        for server in document if isinstance(document, list) else [document]:
            yield from self._server(server, source)

    def _server(self, document: dict[str, Any], source: ImportSource) -> Iterator[Observation]:
        target = str(document.get("target") or "")
        if not target:
            yield source.error("no target in the ssh-audit result (a client audit?): nothing imported")
            return
        try:
            ((host, port),) = parse_endpoint(target, default_port=SSH_DEFAULT_PORT)
        except (TargetError, ValueError):
            yield source.error(f"cannot read the target {target!r}")
            return
        port_source = "ssh-audit's target"
        if str(document.get("port") or "").isdigit():  # ssh-audit 3.x writes the port apart
            port, port_source = int(document["port"]), "ssh-audit's port field"
        elif f":{port}" not in target:
            # ssh-audit 2.x audits port 22 unless told otherwise, and does not write the port: an
            # assumption on the asset for the reader to see, not a failure of the import
            port_source = f"not recorded in ssh-audit's JSON: {port} assumed (ssh-audit's default)"
        kex_all = _names(document.get("kex"))
        kex = [k for k in kex_all if not k.startswith(_KEX_MARKERS)]
        host_key_algorithms = _names(document.get("key"))
        ciphers, macs = _names(document.get("enc")), _names(document.get("mac"))
        endpoint_id = f"ssh:{format_endpoint(host, port)}"
        fingerprints = {
            (f.get("hostkey"), f.get("hash_alg")): f.get("hash")
            for f in document.get("fingerprints") or []
            if isinstance(f, dict)
        }
        host_keys = [
            {
                "algorithm": str(k["algorithm"]),
                "key_size": k.get("keysize"),
                "fingerprint_sha256": fingerprints.get((k["algorithm"], "SHA256"))
                or fingerprints.get((_key_type(str(k["algorithm"])), "SHA256")),
            }
            for k in document.get("key") or []
            if isinstance(k, dict)
        ]
        banner = document.get("banner") or {}
        where = source.location(endpoint_id)
        lists = {"kex": kex, "host_key_algorithms": host_key_algorithms, "ciphers": ciphers, "macs": macs}
        context: dict[str, Any] = {"scope": endpoint_id, "file": str(source.path), "line": None, "source": "ssh-audit"}
        context |= {name: {"mode": "replace", "names": names} for name, names in lists.items()}
        props: dict[str, Any] = {
            "host": host,
            "port": port,
            "port_source": port_source,
            # the live SSH collector's property names, so that the same rules read both
            "software": banner.get("software"),
            "software_comments": banner.get("comments") or "",
            "protocol_version": ".".join(str(p) for p in banner.get("protocol") or [2, 0]),
            "banner": banner.get("raw"),
            **lists,
            "kex_extensions": [k for k in kex_all if k.startswith(_KEX_MARKERS)],
            "compression": list(document.get("compression") or []),
            "pq_key_exchange": any(knowledge.ssh_algorithm("kex", k).post_quantum for k in kex),
            "pq_kex_methods": [k for k in kex if knowledge.ssh_algorithm("kex", k).post_quantum],
            "strict_kex": "kex-strict-s-v00@openssh.com" in kex_all,
            "host_keys": host_keys,
            "ssh_contexts": [context],
            "imported_from": source.tool,
        }
        yield Asset(endpoint_id, AssetType.SSH_ENDPOINT, freeze(props), (where,))


def _key_type(algorithm: str) -> str:
    # rsa-sha2-256/512 are signatures made with an ssh-rsa key: ssh-audit fingerprints the key type
    return "ssh-rsa" if algorithm.startswith("rsa-sha2-") else algorithm
