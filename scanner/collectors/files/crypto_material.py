"""Certificates, keys and bundles in PEM, DER, PKCS#7, PKCS#12 and OpenSSH formats.

The format is told from the content; a file name is never trusted. Encrypted private keys are
inventoried as encrypted and opened only with a password the operator supplied.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from scanner.collectors.base import CollectContext
from scanner.collectors.files import crl, openssh_cert, pem, pkcs12_locked
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.collectors.package_data import package_data_reason
from scanner.inventory import crypto_assets, der, lenient, trust
from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Relation,
    freeze,
)
from scanner.plurals import noun, plural

COLLECTOR = "files"

_SSH_PUBLIC_PREFIXES = (
    b"ssh-rsa ",
    b"ssh-dss ",
    b"ssh-ed25519 ",
    b"ssh-ed448 ",
    b"ecdsa-sha2-nistp256 ",
    b"ecdsa-sha2-nistp384 ",
    b"ecdsa-sha2-nistp521 ",
    b"sk-ssh-ed25519@openssh.com ",
    b"sk-ecdsa-sha2-nistp256@openssh.com ",
    # OpenSSH certificates (*-cert.pub)
    b"ssh-rsa-cert-v01@openssh.com ",
    b"ssh-dss-cert-v01@openssh.com ",
    b"ssh-ed25519-cert-v01@openssh.com ",
    b"ecdsa-sha2-nistp256-cert-v01@openssh.com ",
    b"ecdsa-sha2-nistp384-cert-v01@openssh.com ",
    b"ecdsa-sha2-nistp521-cert-v01@openssh.com ",
    b"sk-ssh-ed25519-cert-v01@openssh.com ",
    b"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com ",
)
# every prefix holds one of these; the leftmost prefix in a line starts its key
_SSH_KEY_START = re.compile(b"|".join(re.escape(p) for p in _SSH_PUBLIC_PREFIXES))
_CERT_TYPES = {"CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"}
_PRIVATE_TYPES = {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"}
_PUBLIC_TYPES = {"PUBLIC KEY", "RSA PUBLIC KEY"}
_CSR_TYPES = {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"}
_PKCS7_TYPES = {"PKCS7", "CMS"}
_DH_TYPES = {"DH PARAMETERS": "pkcs3", "X9.42 DH PARAMETERS": "x9.42"}
# blocks that hold no secret: a message may quote a character of their body
_PUBLIC_LABELS = frozenset(
    _CERT_TYPES
    | _PUBLIC_TYPES
    | _CSR_TYPES
    | _PKCS7_TYPES
    | _DH_TYPES.keys()
    | {"DSA PUBLIC KEY", "X509 CRL", "EC PARAMETERS", "DSA PARAMETERS"}
)


def _short(exc: BaseException) -> str:
    text = str(exc).split("\n", 1)[0]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Findings:
    """Accumulates what one file yields."""

    def __init__(self, source: FileSource) -> None:
        self.source = source
        self.items: list[Asset | Relation | CollectionError] = []
        self.file_properties: dict[str, Any] = {}
        self.certificates: list[Asset] = []

    def error(self, message: str) -> None:
        self.items.append(CollectionError(str(self.source.path), COLLECTOR, message))

    def unreadable(self, message: str, *, whole_file: str | None = None) -> None:
        """What could not be read (a block, a field, or what cryptography refuses and a lenient
        reading inventoried): an error, or in package data a note on the file.

        A package's example, documentation or test fixture (ca-certificates' "Dummy Root CA"
        placeholder, a README quoting a certificate with "<...>" in its body, a locked PKCS#12 of
        cryptography's vectors) is unreadable on purpose and nothing of the host's own is left out:
        the file stays inventoried with the message in ``unreadable_blocks`` (or in ``whole_file``,
        a note on the whole file such as a locked PKCS#12's ``locked_reason``) beside its
        ``package_data_reason``. Anywhere else it is an error.
        """
        path = str(self.source.path)
        shipped = package_data_reason(path)
        if shipped is None:
            self.error(message)
            return
        # said here too: the file collector adds it only to files with observations
        self.file_properties["package_data_reason"] = shipped
        if whole_file is None:
            self.file_properties.setdefault("unreadable_blocks", []).append(message)
        else:
            self.file_properties[whole_file] = f"{message} (package data: {shipped})"

    def add_certificate(self, cert: x509.Certificate, detail: str, der_bytes: bytes | None = None) -> None:
        observations, failed = crypto_assets.certificate_observations(
            cert, self.source.location(detail), der_bytes=der_bytes
        )
        for item in observations:
            self.items.append(item)
            if isinstance(item, Asset) and item.type is AssetType.CERTIFICATE:
                self.certificates.append(item)
                self.items.append(self.source.stored_here(item))
        if failed:
            fields = ", ".join(f"{name} ({reason})" for name, reason in sorted(failed.items()))
            self.unreadable(f"{detail}: certificate loaded, but some fields could not be read: {fields}")

    def add_lenient_certificate(self, der_bytes: bytes, detail: str, strict_error: BaseException) -> None:
        """A certificate cryptography rejects, read field by field; raises the strict error if unreadable."""
        try:
            observations, failed = crypto_assets.lenient_certificate_observations(
                der_bytes, self.source.location(detail)
            )
        except Exception:
            raise strict_error from None
        for item in observations:
            self.items.append(item)
            if isinstance(item, Asset) and item.type is AssetType.CERTIFICATE:
                self.certificates.append(item)
                self.items.append(self.source.stored_here(item))
        unread = f"; fields not read: {', '.join(sorted(failed))}" if failed else ""
        self.unreadable(
            f"{detail}: certificate parsed leniently, cryptography rejects it ({_short(strict_error)}){unread}"
        )

    def add_openssh_certificate(self, line: bytes, detail: str) -> None:
        for item in openssh_cert.certificate_observations(line, self.source.location(detail)):
            self.items.append(item)
            if isinstance(item, Asset) and item.properties.get("certificate_format") == "openssh":
                self.items.append(self.source.stored_here(item))

    def add_crl(self, der_bytes: bytes, detail: str) -> None:
        """A revocation list: no key, but file facts a PKI audit wants (issuer, next update, size)."""
        self.file_properties.setdefault("crls", []).append(crl.read_der(der_bytes, detail))

    def add_dh_parameters(self, der_bytes: bytes, kind: str) -> None:
        self.file_properties["dh_parameters_bits"] = der.dh_prime_bits(der_bytes)
        self.file_properties["dh_parameters_format"] = kind

    def add_private_key(self, key: PrivateKeyTypes, detail: str, *, encrypted: bool) -> None:
        asset = crypto_assets.public_key_asset(
            key.public_key(),
            self.source.location(detail),
            has_private_key=True,
            encrypted_at_rest=encrypted,
        )
        self._add_key(asset, encrypted)

    def add_private_key_spki(self, spki_der: bytes, detail: str, *, encrypted: bool) -> None:
        asset = crypto_assets.key_asset(
            spki_der, self.source.location(detail), has_private_key=True, encrypted_at_rest=encrypted
        )
        self._add_key(asset, encrypted)

    def add_locked_private_key(self, blob: bytes, detail: str) -> None:
        """An encrypted key whose public half the format hides: known by its ciphertext alone."""
        asset = Asset(
            id="key:encrypted-sha256:" + hashlib.sha256(blob).hexdigest(),
            type=AssetType.KEY,
            properties=freeze(
                {
                    "algorithm": None,
                    "key_size": None,
                    "curve": None,
                    "spki_sha256": None,
                    "has_private_key": True,
                    "encrypted_at_rest": True,
                    "locked": True,
                }
            ),
            locations=(self.source.location(detail),),
        )
        self._add_key(asset, encrypted=True)

    def _add_key(self, asset: Asset, encrypted: bool) -> None:
        self.items.append(asset)
        self.items.append(self.source.stored_here(asset))
        if not encrypted:
            self.file_properties["contains_plaintext_private_key"] = True
        self.file_properties["contains_private_key"] = True

    def add_public_key(self, spki_der: bytes, detail: str) -> None:
        asset = crypto_assets.key_asset(spki_der, self.source.location(detail), has_private_key=False)
        self.items.append(asset)
        self.items.append(self.source.stored_here(asset))


class CryptoMaterialHandler:
    name: ClassVar[str] = "crypto"
    priority: ClassVar[int] = 10

    def sniff(self, path: Path, head: bytes) -> bool:
        # a marker that starts a line; code and docs that quote one ("-----BEGIN ...") are not PEM,
        # nor are binaries (magic files) that hold one
        if b"-----BEGIN " in head and _pem_in_text(head):
            # a settings file (.env, YAML, JSON) with a key pasted in is the secrets handler's: it
            # reports the whole file's secrets and still inventories the key
            return not _settings_outside_pem(head)
        if _looks_like_ssh_public_keys(head):
            return True
        # DER: a SEQUENCE with a long-form or short-form length that fits the file
        return (len(head) > 4 and head[0] == 0x30 and head[1] in (0x80, 0x81, 0x82, 0x83, 0x84)) or (
            len(head) > 2 and head[0] == 0x30 and head[1] < 0x80 and head[1] + 2 == len(head)
        )

    def sniff_whole(self, path: Path, data: bytes) -> bool:
        """PEM after a long preamble (``openssl x509 -text`` output, a commented test file)."""
        return _pem_in_text(data)

    def may_find_further(self, head: bytes) -> bool:
        # a marker after a NUL byte is inside a binary: only one before the head's first NUL can count
        nul = head.find(b"\x00")
        return nul < 0 or pem.first_marker(head[:nul]) is not None

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        found = _Findings(source)
        data = source.data
        if b"-----BEGIN " in data:
            fmt = "pem"
            self._parse_pem(found, data, context)
        elif _looks_like_ssh_public_keys(data[:4096]):
            fmt = "openssh-public-keys"
            self._parse_ssh_public_lines(found, data)
        else:
            fmt = self._parse_der(found, data, context)

        trust_store = _as_trust_store(found)
        return ParsedFile(
            format=fmt,
            observations=tuple(found.items) + trust_store,
            file_properties=found.file_properties,
            # a file from which nothing could be read is an error, not an inventory entry
            emit_file_asset=any(isinstance(item, Asset) for item in found.items) or bool(found.file_properties),
        )

    # -- PEM ------------------------------------------------------------------------------------
    def _parse_pem(self, found: _Findings, data: bytes, context: CollectContext) -> None:
        split = pem.split(data)
        if split.truncated:
            truncated = len(split.truncated)
            # in package data a note on the file, as any unreadable block (testssl.sh ships a root
            # whose END line lacks a dash); elsewhere an error
            found.unreadable(
                f"{plural(truncated, 'PEM block')} {noun(truncated, 'is', 'are')} truncated "
                f"(BEGIN without a matching END){_malformed_ends(data, split.truncated)}"
            )
        line, counted_to = 1, 0
        for index, block_at in enumerate(split.blocks, start=1):
            label = block_at.label
            # lets SARIF and CSV point at the block; counted on from the previous block, so linear
            line += data.count(b"\n", counted_to, block_at.start)
            counted_to = block_at.start
            detail = f"PEM block {index} ({label}) at line {line}"
            block = block_at.text(data)
            try:
                self._parse_pem_block(found, label, block, detail, context)
            except Exception as exc:  # one bad block must not hide the others
                # a body that is not base64 said plainly (cryptography's text is a URL and Rust debug output)
                fault = pem.body_fault(block, line, show=label in _PUBLIC_LABELS)
                found.unreadable(f"{detail}: {fault or _short(exc)}")

    def _parse_pem_block(
        self, found: _Findings, label: str, block: bytes, detail: str, context: CollectContext
    ) -> None:
        if label in _CERT_TYPES:
            if label != "CERTIFICATE":
                block = block.replace(label.encode(), b"CERTIFICATE")
            try:
                # from the DER in hand: its fingerprint needs no re-serialisation of the certificate
                der_bytes = _pem_body(block)
                loaded: x509.Certificate | None = x509.load_der_x509_certificate(der_bytes)
            except ValueError:
                loaded = None  # the PEM loader's verdict (and its error) decides what the block is
            if loaded is not None:
                found.add_certificate(loaded, detail, der_bytes)
                return
            try:
                cert = x509.load_pem_x509_certificate(block)
            except ValueError as exc:
                found.add_lenient_certificate(_pem_body(block), detail, exc)
                return
            found.add_certificate(cert, detail)
        elif label in _PRIVATE_TYPES:
            if b"Proc-Type: 4,ENCRYPTED" in block:
                self._encrypted_private_key(found, block, detail, context, pem=True)
            else:
                try:
                    key = serialization.load_pem_private_key(block, None, unsafe_skip_rsa_key_validation=True)
                except ValueError as exc:
                    if label != "PRIVATE KEY":
                        raise
                    self._lenient_pem_key(found, _pem_body(block), detail, exc, private=True)
                    return
                found.add_private_key(key, detail, encrypted=False)
        elif label == "ENCRYPTED PRIVATE KEY":
            self._encrypted_private_key(found, block, detail, context, pem=True)
        elif label == "OPENSSH PRIVATE KEY":
            self._openssh_private_key(found, block, detail, context)
        elif label in _PUBLIC_TYPES:
            try:
                public = serialization.load_pem_public_key(block)
            except ValueError as exc:
                if label != "PUBLIC KEY":
                    raise
                self._lenient_pem_key(found, _pem_body(block), detail, exc, private=False)
                return
            found.add_public_key(public.public_bytes(_DER, _SPKI), detail)
        elif label == "DSA PUBLIC KEY":
            # OpenSSL's legacy DSAPublicKey (y, p, q, g), which cryptography does not read
            y, p, q, g = der.leading_integers(_pem_body(block))[:4]
            found.add_public_key(lenient.dsa_spki(y, p, q, g), detail)
        elif label in _CSR_TYPES:
            csr = x509.load_pem_x509_csr(block.replace(b"NEW CERTIFICATE REQUEST", b"CERTIFICATE REQUEST"))
            found.add_public_key(csr.public_key().public_bytes(_DER, _SPKI), f"{detail}, public key")
        elif label in _PKCS7_TYPES:
            for n, cert in enumerate(pkcs7.load_pem_pkcs7_certificates(block), start=1):
                found.add_certificate(cert, f"{detail}, certificate {n}")
        elif label == "X509 CRL":
            found.add_crl(_pem_body(block), detail)
        elif label in _DH_TYPES:
            # read here, not by cryptography: it refuses X9.42 parameters (p, g, q, ...)
            found.add_dh_parameters(_pem_body(block), _DH_TYPES[label])
        elif label == "EC PARAMETERS":
            # a named curve (an OID) or explicit parameters; either way no key, but the file is read
            body = _pem_body(block)
            named = body[0] == 0x06 if body else False
            found.file_properties["ec_parameters"] = _curve_name(der.decode_oid(body[2:])) if named else "explicit"
        elif label == "DSA PARAMETERS":
            found.file_properties["dsa_parameters_bits"] = der.dh_prime_bits(_pem_body(block))
        else:
            # other PEM types (parameters, vendor blocks) hold no key; a key or certificate
            # type we cannot read is worth telling, since the inventory would miss it
            if "PRIVATE KEY" in label or "CERTIFICATE" in label:
                found.unreadable(f"{detail}: PEM type not supported")

    def _lenient_pem_key(
        self, found: _Findings, body: bytes, detail: str, strict_error: Exception, *, private: bool
    ) -> None:
        """A PKCS#8 or SPKI block cryptography refuses, read from its structure; else its error."""
        try:
            if private:
                found.add_private_key_spki(lenient.private_key_spki(body), detail, encrypted=False)
            elif lenient.describe_spki(body) is not None:
                found.add_public_key(body, detail)
            else:
                raise strict_error
        except Exception:
            raise strict_error from None
        kind = "private" if private else "public"
        found.unreadable(f"{detail}: {kind} key read leniently, cryptography rejects it ({_short(strict_error)})")

    # -- private keys ---------------------------------------------------------------------------
    def _encrypted_private_key(
        self, found: _Findings, blob: bytes, detail: str, context: CollectContext, *, pem: bool
    ) -> None:
        loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
        for secret in context.passwords:
            try:
                key = loader(blob, secret.reveal(), unsafe_skip_rsa_key_validation=True)
            except (ValueError, TypeError):
                continue
            found.add_private_key(key, detail, encrypted=True)
            return
        # PKCS#8 and traditional encrypted PEM hide the public key: inventory the key as locked
        found.add_locked_private_key(blob, detail)

    def _openssh_private_key(self, found: _Findings, block: bytes, detail: str, context: CollectContext) -> None:
        public_blob, cipher = _openssh_public_blob(block)
        encrypted = cipher != b"none"
        if not encrypted:
            key = serialization.load_ssh_private_key(block, None, unsafe_skip_rsa_key_validation=True)
            found.add_private_key(key, detail, encrypted=False)
            return
        # the OpenSSH format keeps the public key in clear beside the encrypted private part
        key_type = _ssh_string(public_blob, 0)[0]
        public = serialization.load_ssh_public_key(key_type + b" " + base64.b64encode(public_blob))
        found.add_private_key_spki(public.public_bytes(_DER, _SPKI), detail, encrypted=True)

    # -- OpenSSH public keys (authorized_keys, *.pub, known_hosts-like lines) -------------------
    def _parse_ssh_public_lines(self, found: _Findings, data: bytes) -> None:
        for number, line in enumerate(data.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith(b"#"):
                continue
            # one regex search per line: a loop over every prefix cost 17 scans of each line
            match = _SSH_KEY_START.search(line)
            if match is None:
                continue
            start = match.start()
            detail = f"line {number}"
            fields = line[start:].split()
            if fields[0].endswith(openssh_cert.CERT_SUFFIX):
                try:
                    found.add_openssh_certificate(line[start:], detail)
                except Exception as exc:
                    found.unreadable(f"{detail}: not a readable OpenSSH certificate ({_short(exc)})")
                continue
            try:
                public = serialization.load_ssh_public_key(b" ".join(fields[:2]))
                found.add_public_key(public.public_bytes(_DER, _SPKI), detail)
            except Exception as exc:
                found.unreadable(f"{detail}: not a readable OpenSSH public key ({_short(exc)})")

    # -- DER ------------------------------------------------------------------------------------
    def _parse_der(self, found: _Findings, data: bytes, context: CollectContext) -> str:
        if self._der_certificate(found, data):
            return "der-certificate"
        if _looks_like_pkcs12(data):
            self._parse_pkcs12(found, data, context)
            return "pkcs12"
        if self._certificate_pair(found, data):
            return "der-certificate-pair"
        if _looks_like_dh_parameters(data):
            # before the public-key attempt: cryptography reads PKCS#3 (p, g) as an RSA key with e = g
            found.add_dh_parameters(data, "pkcs3" if len(der.leading_integers(data)) < 3 else "x9.42")
            return "der-dh-parameters"
        attempts: list[tuple[str, Any]] = [
            ("pkcs7", lambda: pkcs7.load_der_pkcs7_certificates(data)),
            ("der-private-key", lambda: _load_der_private_key(data)),
            ("der-public-key", lambda: serialization.load_der_public_key(data)),
            ("der-csr", lambda: x509.load_der_x509_csr(data)),
        ]
        refused: dict[str, Exception] = {}
        for fmt, attempt in attempts:
            try:
                value = attempt()
            except TypeError as exc:
                if fmt == "der-private-key":  # encrypted PKCS#8: cryptography wants a password
                    self._encrypted_private_key(found, data, "DER PKCS#8", context, pem=False)
                    return "der-encrypted-private-key"
                refused[fmt] = exc
                continue
            except Exception as exc:
                refused[fmt] = exc
                continue
            if fmt == "pkcs7":
                for n, cert in enumerate(value, start=1):
                    found.add_certificate(cert, f"PKCS#7 certificate {n}")
            elif fmt == "der-private-key":
                found.add_private_key(value, "DER private key", encrypted=False)
            elif fmt == "der-public-key":
                found.add_public_key(value.public_bytes(_DER, _SPKI), "DER public key")
            else:
                found.add_public_key(value.public_key().public_bytes(_DER, _SPKI), "DER CSR public key")
            return fmt
        try:
            found.add_crl(data, "DER CRL")
            return "der-crl"
        except ValueError:
            pass
        lenient_format = self._lenient_der_key(found, data, refused)
        if lenient_format is not None:
            return lenient_format
        if _der_is_truncated(data):
            found.error("truncated DER structure (its length runs past the end of the file)")
        # a complete DER structure of another kind (a CRL, an OCSP response) holds no key: not an error
        return "der"

    def _lenient_der_key(self, found: _Findings, data: bytes, refused: dict[str, Exception]) -> str | None:
        """A DER key cryptography refuses (an even RSA modulus, a public point off its curve) but
        OpenSSL reads: inventoried from its structure, with cryptography's reason as an error."""
        try:
            spki = lenient.private_key_spki(data)
        except Exception:  # not a PKCS#8 key even to a lenient reader
            pass
        else:
            found.add_private_key_spki(spki, "DER private key", encrypted=False)
            found.unreadable(
                f"DER private key read leniently, cryptography rejects it ({_short(refused['der-private-key'])})"
            )
            return "der-private-key"
        if lenient.describe_spki(data) is not None:
            found.add_public_key(data, "DER public key")
            reason = _short(refused["der-public-key"])
            found.unreadable(f"DER public key read leniently, cryptography rejects it ({reason})")
            return "der-public-key"
        return None

    def _der_certificate(self, found: _Findings, data: bytes) -> bool:
        """DER certificates (several may be concatenated), with trailing data reported and those
        cryptography rejects read leniently."""
        offset, count = 0, 0
        while offset < len(data):
            try:
                tag, length = der.first_element(data[offset:])
            except der.DerError:
                break
            element = data[offset : offset + length]
            if tag != 0x30 or not der.looks_like_certificate(element):
                break
            count += 1
            detail = "DER certificate" if count == 1 else f"DER certificate {count}"
            try:
                found.add_certificate(x509.load_der_x509_certificate(element), detail, element)
            except ValueError as exc:
                found.add_lenient_certificate(element, detail, exc)
            offset += length
        if count and offset < len(data):
            found.error(f"DER certificate is followed by {plural(len(data) - offset, 'byte')} of trailing data")
        return count > 0

    def _certificate_pair(self, found: _Findings, data: bytes) -> bool:
        """An X.509 cross-certificate pair (RFC 4523 section 2.1, LDAP crossCertificatePair):
        SEQUENCE { forward [0] Certificate OPTIONAL, reverse [1] Certificate OPTIONAL }."""
        try:
            (outer,) = der.children(data)
            if outer[0] != 0x30 or outer[3] != len(data):
                return False
            parts = der.children(data, outer[2], outer[3])
            if not parts or any(tag not in (0xA0, 0xA1) for tag, *_ in parts):
                return False
            certificates = [(tag, data[start:end]) for tag, _, start, end in parts]
        except (der.DerError, ValueError):
            return False
        if not all(der.looks_like_certificate(element) for _, element in certificates):
            return False
        for tag, element in certificates:
            detail = "cross-certificate pair, " + ("forward" if tag == 0xA0 else "reverse")
            try:
                found.add_certificate(x509.load_der_x509_certificate(element), detail, element)
            except ValueError as exc:
                found.add_lenient_certificate(element, detail, exc)
        return True

    def _parse_pkcs12(self, found: _Findings, data: bytes, context: CollectContext) -> None:
        candidates: list[tuple[bytes | None, bool]] = [(None, False), (b"", False)]
        candidates += [(secret.reveal(), True) for secret in context.passwords]
        last_error: Exception | None = None
        for password, protected in candidates:
            try:
                bundle = pkcs12.load_pkcs12(data, password)
            except (ValueError, TypeError) as exc:
                last_error = exc
                continue
            found.file_properties["password_protected"] = protected
            if bundle.key is not None:
                found.add_private_key(bundle.key, "PKCS#12 key", encrypted=protected)
            if bundle.cert is not None:
                found.add_certificate(bundle.cert.certificate, "PKCS#12 certificate")
            for n, extra in enumerate(bundle.additional_certs, start=1):
                found.add_certificate(extra.certificate, f"PKCS#12 additional certificate {n}")
            return
        found.file_properties["password_protected"] = True
        found.file_properties["locked"] = True
        reason = "no password was supplied" if not context.passwords else "none of the supplied passwords opens it"
        detail = f" ({_short(last_error)})" if last_error and not context.passwords else ""
        readable = self._locked_pkcs12(found, data)
        # a package's test fixture (cryptography's vectors hold 400 of them) is locked on purpose
        found.unreadable(
            f"PKCS#12 file is password-protected and {reason}; {readable}{detail}", whole_file="locked_reason"
        )

    def _locked_pkcs12(self, found: _Findings, data: bytes) -> str:
        """Inventory a locked PKCS#12 as a locked container: what its structure shows without the password."""
        try:
            locked = pkcs12_locked.read_locked(data)
        except Exception as exc:  # asn1crypto's errors are ValueError, TypeError, ...
            return f"its structure is unreadable too ({_short(exc)}); contents not inventoried"
        found.file_properties["encryption_algorithms"] = list(locked.encryption)
        found.file_properties["mac_algorithm"] = locked.mac_algorithm
        found.file_properties["mac_iterations"] = locked.mac_iterations
        found.file_properties["encrypted_parts"] = locked.encrypted_parts
        for n, blob in enumerate(locked.shrouded_keys, start=1):
            found.add_locked_private_key(blob, f"PKCS#12 shrouded key bag {n}")
        for n, cert_der in enumerate(locked.certificates, start=1):
            detail = f"PKCS#12 certificate {n} (clear bag)"
            try:
                found.add_certificate(x509.load_der_x509_certificate(cert_der), detail, cert_der)
            except ValueError as exc:
                found.add_lenient_certificate(cert_der, detail, exc)
        return (
            f"inventoried as a locked container ({plural(len(locked.shrouded_keys), 'locked key')}, "
            f"{plural(len(locked.certificates), 'certificate')} in clear, "
            f"{plural(locked.encrypted_parts, 'encrypted part')} unread)"
        )


_DER = serialization.Encoding.DER
_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def _malformed_ends(data: bytes, labels: Sequence[str]) -> str:
    """Where an END line is there but not as PEM writes it (testssl.sh's "DST Root CA X3.txt" ends
    with "-----END CERTIFICATE----", four dashes, which OpenSSL does not read either): the line
    and what it says, so that the reader sees why the block has no END."""
    found: list[str] = []
    # a few labels, a few lines: each label is one pass over the data, and hostile input has many
    for label in list(dict.fromkeys(labels))[:3]:
        marker = b"-----END " + label.encode("ascii", "replace")
        at = data.find(marker)
        while at >= 0 and len(found) < 3:
            stop = data.find(b"\n", at)
            line = data[at : len(data) if stop < 0 else stop].rstrip(b"\r \t")
            if line != marker + b"-----":
                number = data.count(b"\n", 0, at) + 1
                found.append(f"line {number} reads {line.decode('ascii', 'replace')!r}")
            at = data.find(marker, at + len(marker))
    return f"; a malformed END line: {', '.join(found)}" if found else ""


def _der_is_truncated(data: bytes) -> bool:
    from scanner.inventory import der

    try:
        der.children(data[: len(data)], 0, None)
    except der.DerError:
        return True
    return False


def _looks_like_ssh_public_keys(head: bytes) -> bool:
    """*.pub, authorized_keys (with options before the key) or known_hosts-style lines."""
    if b"ssh-" not in head and b"ecdsa-sha2-" not in head:  # in every prefix: most files, split no line
        return False
    for line in head.splitlines()[:20]:
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        return any(prefix in line for prefix in _SSH_PUBLIC_PREFIXES)
    return False


# NAME=value (env style, upper-case), or a secret-like name assigned with = or : (YAML, JSON, ini)
_ENV_LINE = re.compile(rb"^\s*(?:export\s+)?[A-Z][A-Z0-9_]*\s*=", re.MULTILINE)
_SECRET_SETTING_LINE = re.compile(
    rb"^\s*[\"']?[A-Za-z0-9_.\-]*(?:pass|secret|token|api_?key|private_?key|credential)[A-Za-z0-9_.\-]*[\"']?\s*[=:]",
    re.MULTILINE | re.IGNORECASE,
)


def _outside_pem(text: bytes) -> bytes:
    r"""The text with its PEM blocks (and an unterminated last one) cut out.

    What ``re.sub(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?(?:-----END \1-----|\Z)", b"", text, flags=re.S)``
    gives, by ``bytes.find`` for each END marker: the regex's lazy ``.*?`` tried the backreferenced END
    marker at every byte of every block, ~0.5 ms per certificate file, most of a file's sniff.
    """
    parts: list[bytes] = []
    position = 0
    while (begin := _BEGIN_LABEL.search(text, position)) is not None:
        parts.append(text[position : begin.start()])
        end_marker = b"-----END " + begin.group(1) + b"-----"
        end = text.find(end_marker, begin.end())
        if end < 0:
            return b"".join(parts)  # an unterminated block runs to the end
        position = end + len(end_marker)
    parts.append(text[position:])
    return b"".join(parts)


_BEGIN_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


def _settings_outside_pem(head: bytes) -> bool:
    """True when the text around the PEM blocks holds settings, not PEM headers (Bag Attributes...)."""
    outside = _outside_pem(head)
    return _ENV_LINE.search(outside) is not None or _SECRET_SETTING_LINE.search(outside) is not None


def _pem_in_text(data: bytes) -> bool:
    """A PEM marker starting a line, with text before it: a binary (a magic file, an executable)
    that holds a marker has NUL bytes before it; damage after the block does not hide it."""
    offset = pem.first_marker(data)
    return offset is not None and b"\x00" not in data[:offset]


def _load_der_private_key(data: bytes) -> PrivateKeyTypes:
    # the flag by name: positionally, the third argument is the (ignored) backend, and RSA keys that
    # fail the slow consistency check were dropped with no asset and no error
    return serialization.load_der_private_key(data, None, unsafe_skip_rsa_key_validation=True)


def _pem_body(block: bytes) -> bytes:
    """The DER inside one PEM block (RFC 7468 headers such as Proc-Type are not expected here)."""
    if b":" not in block and b"\r" not in block:
        # the common block: its lines but the first and the last are what lies between its first and
        # last newline (the decoder skips the newlines, as it skips the whitespace the join kept)
        first, last = block.find(b"\n"), block.rfind(b"\n")
        if 0 <= first < last:
            return binascii.a2b_base64(block[first + 1 : last])
    lines = block.splitlines()[1:-1]
    if b":" not in block:
        # the decoder skips whitespace: stripping each line first (a generator per line) gives the same bytes
        return base64.b64decode(b"".join(lines))
    return base64.b64decode(b"".join(line.strip() for line in lines if b":" not in line))


def _looks_like_dh_parameters(data: bytes) -> bool:
    """PKCS#3 (p, g[, length]) or X9.42 (p, g, q, ...): a large prime, then a generator RSA cannot be.

    PKCS#1 RSAPublicKey has the same (n, e) shape; an RSA exponent is odd and never 2, and X9.42's
    generator is as large as the group, unlike any exponent in use.
    """
    try:
        numbers = der.leading_integers(data)
    except der.DerError:
        return False
    if len(numbers) < 2 or numbers[0].bit_length() < 256 or not 1 < numbers[1] < numbers[0]:
        return False
    if len(numbers) >= 3 and numbers[2] > 1 << 64:  # X9.42: q, a large subgroup order
        return True
    return numbers[1] % 2 == 0 or numbers[1] == 5


def _looks_like_pkcs12(data: bytes) -> bool:
    # PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, ... }
    from scanner.inventory import der

    try:
        (tag, _, start, end), *_ = der.children(data, 0, None) or [(0, 0, 0, 0)]
        if tag != 0x30:
            return False
        parts = der.children(data, start, end)
        return bool(parts) and parts[0][0] == 0x02 and data[parts[0][2] : parts[0][3]] == b"\x03"
    except der.DerError:
        return False


def _ssh_string(blob: bytes, offset: int) -> tuple[bytes, int]:
    (length,) = struct.unpack(">I", blob[offset : offset + 4])
    end = offset + 4 + length
    if end > len(blob):
        raise ValueError("truncated OpenSSH key")
    return blob[offset + 4 : end], end


def _openssh_public_blob(block: bytes) -> tuple[bytes, bytes]:
    """(public key blob, cipher name) from an OPENSSH PRIVATE KEY block, without decrypting it."""
    body = b"".join(line for line in block.splitlines() if not line.startswith(b"-----"))
    try:
        raw = base64.b64decode(body, validate=False)
    except binascii.Error as exc:
        raise ValueError("OpenSSH private key is not valid base64") from exc
    magic = b"openssh-key-v1\x00"
    if not raw.startswith(magic):
        raise ValueError("not an openssh-key-v1 private key")
    offset = len(magic)
    cipher, offset = _ssh_string(raw, offset)
    _kdf, offset = _ssh_string(raw, offset)
    _kdf_options, offset = _ssh_string(raw, offset)
    (count,) = struct.unpack(">I", raw[offset : offset + 4])
    if count < 1:
        raise ValueError("OpenSSH private key file holds no key")
    public_blob, _ = _ssh_string(raw, offset + 4)
    return public_blob, cipher


def _curve_name(oid: str) -> str:
    try:
        return ec.get_curve_for_oid(x509.ObjectIdentifier(oid))().name
    except LookupError:
        return oid


def _as_trust_store(found: _Findings) -> tuple[Asset | Relation, ...]:
    """A file's certificates as a trust store when its location or name makes it one, never by count."""
    if found.file_properties.get("contains_private_key"):
        return ()
    path = str(found.source.path)
    observations = trust.for_file(path, found.certificates)
    several = len(found.certificates) > 1
    if (
        (several or observations)
        and trust.system_location(path) is None
        and (shipped := package_data_reason(path)) is not None
    ):
        # roots a package ships to compare against (a named bundle in a library's tests or examples included)
        named = bool(observations)
        observations = trust.reference_store(path, found.certificates, shipped, named=named) or observations
    if observations:
        found.file_properties["trust_store"] = True
    return observations
