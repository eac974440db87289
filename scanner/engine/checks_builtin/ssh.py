"""Checks that only a live SSH endpoint can answer: protocol version, the Terrapin prefix-truncation
weakness, and server software versions with published weaknesses. The algorithm lists of a live
endpoint are judged by the same checks as an sshd_config (config.ssh_weak_algorithms,
config.ssh_no_pq_kex)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from scanner.engine.checks import EvalContext, Hit, accepts
from scanner.inventory import knowledge
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, RelationType, Severity

# a banner comment naming a distribution package revision: fixes may be backported under it
_DISTRIBUTION = re.compile(r"(Debian|Ubuntu|Raspbian|deb\d+u\d+|\bel\d|Red Hat|RHEL|SUSE|FreeBSD)", re.IGNORECASE)


def _endpoint(asset: Asset) -> Mapping[str, Any] | None:
    return asset.properties if asset.type is AssetType.SSH_ENDPOINT else None


@accepts()
def ssh_protocol_1(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """The server still speaks SSH-1 ("SSH-1.99" offers both, "SSH-1.5" only SSH-1)."""
    props = _endpoint(asset)
    if props is None or props.get("protocol_version") in (None, "2.0"):
        return
    yield Hit(
        f"{asset.id} announces protocol {props['protocol_version']} ({props.get('banner')}): SSH-1 is broken",
        {"banner": props.get("banner"), "protocol_version": props["protocol_version"]},
    )


@accepts()
def ssh_terrapin(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    """Terrapin (CVE-2023-48795): ChaCha20-Poly1305, or a CBC cipher with an encrypt-then-MAC MAC,
    offered without the strict key exchange that closes the prefix-truncation hole."""
    props = _endpoint(asset)
    if props is None or props.get("strict_kex") or props.get("protocol_version") != "2.0":
        return
    ciphers, macs = list(props.get("ciphers") or []), list(props.get("macs") or [])
    chacha = [c for c in ciphers if c == "chacha20-poly1305@openssh.com"]
    cbc_etm = [c for c in ciphers if c.endswith("-cbc")] and [m for m in macs if m.endswith("-etm@openssh.com")]
    if not chacha and not cbc_etm:
        return
    why = "chacha20-poly1305@openssh.com" if chacha else "a CBC cipher with an -etm MAC"
    yield Hit(
        f"{asset.id} offers {why} without strict key exchange (kex-strict-s-v00@openssh.com): "
        "open to the Terrapin prefix truncation (CVE-2023-48795)",
        {"strict_kex": False, "ciphers": ciphers, "macs": macs},
    )


@accepts()
def ssh_software_weaknesses(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """An OpenSSH version whose banner falls in a published vulnerable range. Where the banner names
    a distribution revision, the fix may be backported: reported at info severity, to verify."""
    props = _endpoint(asset)
    software = str(props.get("software") or "") if props else ""
    if not software.startswith("OpenSSH_"):
        return
    version = software.removeprefix("OpenSSH_")
    comments = str(props.get("software_comments") or "") if props else ""
    distributed = bool(_DISTRIBUTION.search(comments))
    for weakness in knowledge.openssh_weaknesses(version):
        caveat = (
            f"; the banner names a distribution build ({comments}), which may carry the fix: verify with its advisory"
            if distributed
            else ""
        )
        yield Hit(
            f"{asset.id} runs {software}, in the range of {weakness.id} ({weakness.name}; "
            f"{weakness.affected_from} to before {weakness.fixed_in}){caveat}",
            {"software": software, "comments": comments, "cve": weakness.id, "source": weakness.source},
            severity=Severity.INFO if distributed else Severity(weakness.severity),
            discriminator=weakness.id,
        )


@accepts("min_bits")
def ssh_gex_modulus(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Diffie-Hellman group exchange that hands out a prime below ``min_bits`` to a client asking
    for little (the collector asks for 1024 bits, as the weakest clients do)."""
    props = _endpoint(asset)
    bits = props.get("gex_modulus_bits") if props else None
    minimum = int(params.get("min_bits", 2048))
    if not isinstance(bits, int) or bits >= minimum:
        return
    yield Hit(
        f"{asset.id} offers a {bits}-bit Diffie-Hellman group exchange prime (below {minimum} bits): "
        "an /etc/ssh/moduli with small groups",
        {"gex_modulus_bits": bits, "min_bits": minimum},
    )


# the config lists a live endpoint can be held against, by the endpoint's property names
_COMPARED = {"kex": "kex", "ciphers": "ciphers", "macs": "macs", "host_key_algorithms": "host_key_algorithms"}


def _configs_of(graph: InventoryGraph, endpoint_id: str) -> list[Asset]:
    """sshd configs naming, as HostKey, a file that holds a key this endpoint presents."""
    found: dict[str, Asset] = {}
    for key in graph.successors(endpoint_id, RelationType.PRESENTS):
        for file in graph.successors(key.id, RelationType.STORED_IN):
            for config in graph.predecessors(file.id, RelationType.REFERENCES):
                if config.type is AssetType.CONFIG and config.properties.get("kind") == "sshd":
                    found[config.id] = config
    return list(found.values())


def _global_scope(config: Asset) -> Mapping[str, Any]:
    contexts = config.properties.get("ssh_contexts") or []
    return next((c for c in contexts if isinstance(c, Mapping) and c.get("scope") == "global"), {})


def _differences(prop: str, setting: Mapping[str, Any], live: list[str]) -> dict[str, list[str]]:
    names, mode = list(setting.get("names") or []), setting.get("mode")
    offered = set(live)
    if mode == "effective":  # the configs collector's composed list: what the server must offer
        mode = "replace"
    if mode == "remove":
        return {"removed_but_offered": [n for n in names if n in offered]}
    if mode != "replace":  # "+x" / "^x" add to OpenSSH's default list: what they add must be offered
        return {"configured_not_offered": [n for n in names if n not in offered]}
    allowed = set(names)
    out = {"offered_not_configured": [n for n in live if n not in allowed]}
    # a host-key algorithm without a host key of its type is configured but cannot be offered
    if prop != "host_key_algorithms":
        out["configured_not_offered"] = [n for n in names if n not in offered]
    return out


@accepts()
def ssh_config_differs_from_live(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A live SSH endpoint and the sshd_config that names its host keys disagree: the scanned
    config is not what runs (another file, a restart pending), or a default was assumed wrongly."""
    props = _endpoint(asset)
    if props is None:
        return
    for config in _configs_of(graph, asset.id):
        scope = _global_scope(config)
        for prop, live_prop in _COMPARED.items():
            setting = scope.get(prop)
            if not isinstance(setting, Mapping):
                continue
            diff = {k: v for k, v in _differences(prop, setting, list(props.get(live_prop) or [])).items() if v}
            if not diff:
                continue
            where = f"{scope.get(f'{prop}_file') or config.properties.get('path')}:{scope.get(f'{prop}_line') or '?'}"
            detail = "; ".join(f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in diff.items())
            yield Hit(
                f"{asset.id} does not offer what {where} configures for {prop} ({detail})",
                {"config": config.id, "setting": prop, "file_line": where, **diff},
                discriminator=f"{config.id}:{prop}",
            )
