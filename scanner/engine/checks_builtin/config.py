"""Checks on configuration nodes (nginx, Apache, OpenSSL, OpenSSH, java.security).

Config handlers put what these need on the config asset: ``tls_contexts`` (one per server block,
VirtualHost, ssl_conf section or JDK list) and ``ssh_contexts`` (global and each Match/Host scope),
each with the file and line that set a value, for the report and SARIF. Which algorithms are weak
or post-quantum is the knowledge base's to say; a rule's parameters choose which facts apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from scanner.engine.checks import EvalContext, Hit, accepts, scheduled_severity
from scanner.inventory import knowledge
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, RelationType

_CIPHER_SEPARATORS = re.compile(r"[:,\s]+")


def _contexts(asset: Asset, name: str) -> list[Mapping[str, Any]]:
    value = asset.properties.get(name) or []
    return [c for c in value if isinstance(c, Mapping)]


def _where(ctx: Mapping[str, Any], field: str) -> dict[str, Any]:
    where = {
        "scope": ctx.get("scope"),
        "file": ctx.get(f"{field}_file") or ctx.get("file"),
        # a value from a built-in default has no line (``<field>_line`` present and None)
        "line": ctx[f"{field}_line"] if f"{field}_line" in ctx else ctx.get("line"),
    }
    # a site or module the server does not include (True), or settings no server uses (why, as text):
    # see the engine's emitter
    if ctx.get("inactive"):
        where["inactive"] = ctx["inactive"]
    return where


def _at(where: Mapping[str, Any]) -> str:
    return f"{where['file']}:{where['line']}" if where.get("line") else str(where.get("file"))


def tls_protocol_minimum(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Protocols below the minimum left enabled (SP 800-52r2: TLS 1.2 at least)."""
    minimum = str(params.get("min_protocol", "TLSv1.2"))
    floor = knowledge.tls_protocol(minimum)
    if floor is None:
        raise ValueError(f"unknown protocol {minimum!r} in rule parameters")
    for ctx in _contexts(asset, "tls_contexts"):
        enabled = ctx.get("protocols")
        if enabled is None:
            continue
        below = [p for p in enabled if (known := knowledge.tls_protocol(p)) is not None and known[1] < floor[1]]
        if not below:
            continue
        where = _where(ctx, "protocols")
        source = ctx.get("protocols_source", "config")
        origin = "" if source == "config" else f" ({source})"
        yield Hit(
            f"{where['scope']} at {_at(where)} enables {', '.join(below)}{origin}; the minimum is {minimum}",
            {**where, "enabled_below_minimum": below, "protocols": list(enabled), "source": source},
            discriminator=f"{where['scope']}@{where['file']}:{where['line']}",
        )


def _cipher_weaknesses(cipher_list: str, watched: set[str]) -> dict[str, list[str]]:
    """Weakness -> the list elements that enable it, after the list's own exclusions (!X, -X)."""
    included: list[str] = []
    excluded: set[str] = set()
    for element in _CIPHER_SEPARATORS.split(cipher_list.strip()):
        if not element or element.startswith("@"):
            continue
        if element[0] in "!-":
            excluded.update(w.name for w in knowledge.tls_cipher_weaknesses(element[1:]))
        else:
            included.append(element.lstrip("+"))
    found: dict[str, list[str]] = {}
    for element in included:
        for parts in element.split("+"):  # "RSA+RC4": an intersection; any weak part makes it weak
            for weak in knowledge.tls_cipher_weaknesses(parts):
                if weak.name in watched and weak.name not in excluded and element not in found.get(weak.name, []):
                    found.setdefault(weak.name, []).append(element)
    return found


def tls_weak_ciphers(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Cipher lists that enable weak ciphers (RC4, 3DES, DES, NULL, anonymous, export, MD5)."""
    watched = set(params.get("weaknesses", ["RC4", "3DES", "DES", "NULL", "anonymous", "EXPORT", "MD5"]))
    for ctx in _contexts(asset, "tls_contexts"):
        cipher_list = ctx.get("ciphers")
        if not cipher_list:
            continue
        found = _cipher_weaknesses(str(cipher_list), watched)
        if not found:
            continue
        where = _where(ctx, "ciphers")
        summary = "; ".join(f"{name} via {', '.join(elements)}" for name, elements in sorted(found.items()))
        yield Hit(
            f"{where['scope']} at {_at(where)} enables weak ciphers: {summary}",
            {**where, "weaknesses": sorted(found), "elements": found, "ciphers": cipher_list},
            discriminator=f"{where['scope']}@{where['file']}:{where['line']}",
        )


def _file_named(graph: InventoryGraph, config_id: str, path: str) -> Asset | None:
    """The file asset a configuration names by ``path``; through a symlink, the real file's asset
    (named by its real path, with the link among its locations). By the config's references first: a
    remote sweep's file ids carry the host (ssh://HOST/PATH), its ``path`` property does not."""
    for file in graph.successors(config_id, RelationType.REFERENCES):
        if file.properties.get("path") == path or any(loc.ref == path for loc in file.locations):
            return file
    if f"file:{path}" in graph:
        return graph.asset(f"file:{path}")
    return None


def dh_parameters_size(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """DH parameters a config names, smaller than the minimum (read from the collected file)."""
    minimum = int(params.get("min_bits", 2048))
    for ctx in _contexts(asset, "tls_contexts"):
        path = ctx.get("dh_params")
        named = _file_named(graph, asset.id, path) if path else None
        if named is None:
            continue
        bits = named.properties.get("dh_parameters_bits")
        if bits is None or int(bits) >= minimum:
            continue
        where = _where(ctx, "dh_params")
        yield Hit(
            f"{where['scope']} at {_at(where)} uses {bits}-bit DH parameters from {path}; the minimum is {minimum}",
            {**where, "dh_params": path, "bits": bits, "required_bits": minimum},
            discriminator=f"{where['scope']}@{path}",
        )


def ocsp_stapling_missing(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A TLS server block without OCSP stapling."""
    for ctx in _contexts(asset, "tls_contexts"):
        if ctx.get("server") and not ctx.get("ocsp_stapling"):
            where = _where(ctx, "")
            yield Hit(
                f"{where['scope']} at {_at(where)} does not staple OCSP responses",
                {**where, "ocsp_stapling": False},
                discriminator=f"{where['scope']}@{where['file']}:{where['line']}",
            )


def hsts_missing(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    """A TLS server block that sends no Strict-Transport-Security header, or one with a short max-age."""
    min_age = int(params.get("min_max_age", 31536000))
    for ctx in _contexts(asset, "tls_contexts"):
        if not ctx.get("server"):
            continue
        where = _where(ctx, "")
        age = ctx.get("hsts_max_age")
        if not ctx.get("hsts"):
            message = f"{where['scope']} at {_at(where)} sends no Strict-Transport-Security header"
        elif age is None or int(age) < min_age:
            message = f"{where['scope']} at {_at(where)} sets HSTS max-age={age}, below {min_age}"
        else:
            continue
        yield Hit(
            message,
            {**where, "hsts": bool(ctx.get("hsts")), "max_age": age, "required_max_age": min_age},
            discriminator=f"{where['scope']}@{where['file']}:{where['line']}",
        )


def openssl_fips_mode(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A library-wide OpenSSL config without FIPS mode (fips provider active and fips=yes default)."""
    props = asset.properties
    if props.get("kind") != "openssl" or not props.get("library_config"):
        return
    activated = bool(props.get("fips_provider_activated"))
    enforced = bool(props.get("fips_default_properties"))
    if activated and enforced:
        return
    missing = [
        text
        for ok, text in (
            (activated, "the fips provider is not activated"),
            (enforced, "default_properties does not require fips=yes"),
        )
        if not ok
    ]
    where = {"file": props.get("fips_file") or props.get("path"), "line": props.get("fips_line")}
    yield Hit(
        f"OpenSSL at {_at(where)} is not in FIPS mode: {'; '.join(missing)}",
        {**where, "fips_provider_activated": activated, "fips_default_properties": enforced},
    )


# the knowledge-base category of each SSH list; host-key facts also judge the signature lists
_SSH_CATEGORIES = {
    "cipher": ("ciphers",),
    "mac": ("macs",),
    "kex": ("kex",),
    "host_key": ("host_key_algorithms", "pubkey_accepted_algorithms", "ca_signature_algorithms"),
}


def _ssh_contexts(asset: Asset) -> list[Mapping[str, Any]]:
    """The scopes of an sshd/ssh config, or a live SSH endpoint as one scope whose lists are what the
    server offered: one check judges both."""
    if asset.type is not AssetType.SSH_ENDPOINT or asset.properties.get("ssh_contexts"):
        return _contexts(asset, "ssh_contexts")  # a config's scopes, or an import's own context
    props = asset.properties
    live: dict[str, Any] = {"scope": asset.id, "file": "the server's KEXINIT", "line": None}
    for prop in ("kex", "ciphers", "macs", "host_key_algorithms"):
        live[prop] = {"mode": "replace", "names": list(props.get(prop) or [])}
    return [live]


def ssh_weak_algorithms(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Weak SSH ciphers, MACs, key exchanges or host-key algorithms enabled in a scope."""
    category = str(params.get("category", "cipher"))
    if category not in _SSH_CATEGORIES:
        raise ValueError(f"unknown SSH algorithm category {category!r}")
    for ctx in _ssh_contexts(asset):
        for prop in _SSH_CATEGORIES[category]:
            configured = ctx.get(prop)
            if not isinstance(configured, Mapping) or configured.get("mode") == "remove":
                continue
            names = list(configured.get("names", []))
            weak = [facts for name in names if (facts := knowledge.ssh_algorithm(category, name)).weak]
            if not weak:
                continue
            where = _where(ctx, prop)
            listed = ", ".join(f"{a.name} ({a.reason})" for a in weak)
            source = str(configured.get("source", "config"))
            origin = "" if source == "config" else f" ({source})"
            yield Hit(
                f"{where['scope']} at {_at(where)} enables weak SSH {category.replace('_', ' ')} algorithms "
                f"in {prop}: {listed}{origin}",
                {**where, "setting": prop, "weak": [a.name for a in weak], "configured": names, "source": source},
                discriminator=f"{where['scope']}@{where['file']}:{where['line']}:{prop}",
            )


@accepts("methods", "schedule")
def ssh_no_pq_kex(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """An explicit SSH key-exchange list without a post-quantum method.

    ``methods`` narrows the methods that count (CNSA 2.0: ``["mlkem1024nistp384-sha384"]``); by
    default every method the knowledge base marks post-quantum does. ``schedule`` raises the severity
    with the as-of date.
    """
    wanted = [str(m) for m in params.get("methods", [])]
    for ctx in _ssh_contexts(asset):
        kex = ctx.get("kex")
        # "+x" or "^x" keeps OpenSSH's default list, whose PQ methods depend on the installed version;
        # an "effective" list has that default resolved for the installed version
        if not isinstance(kex, Mapping) or kex.get("mode") not in ("replace", "effective"):
            continue
        names = list(kex.get("names", []))
        if wanted and any(n in wanted for n in names):
            continue
        if not wanted and any(knowledge.ssh_algorithm("kex", n).post_quantum for n in names):
            continue
        where = _where(ctx, "kex")
        missing = ", ".join(wanted) if wanted else "mlkem768x25519-sha256 or sntrup761x25519-sha512"
        what = "none of the required key exchanges" if wanted else "no post-quantum key exchange"
        severity, deadline = scheduled_severity(params, context)
        yield Hit(
            f"{where['scope']} at {_at(where)} offers {what} ({missing})",
            {**where, "kex": names, **({"required": wanted} if wanted else {})},
            severity=severity,
            deadline=deadline,
            discriminator=f"{where['scope']}@{where['file']}:{where['line']}",
        )


@accepts()
def java_fips_mode(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A java.security whose security providers include no FIPS provider (e.g. SunPKCS11 with NSS FIPS)."""
    props = asset.properties
    if props.get("kind") != "java-security" or props.get("fips_providers"):
        return
    providers = list((props.get("settings") or {}).get("providers", []))
    yield Hit(
        f"Java at {props.get('path')} has no FIPS security provider"
        + (f" (providers: {', '.join(providers)})" if providers else " (no security.provider list)"),
        {"file": props.get("path"), "providers": providers, "fips_providers": []},
    )
