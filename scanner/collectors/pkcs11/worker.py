"""The child process that loads a PKCS#11 module and reads its tokens, read-only.

Run as ``python -m scanner.collectors.pkcs11.worker``: the request (module path, token, PIN)
arrives as JSON on stdin, so the PIN is never in argv or the environment of the child; the
reading goes to stdout as JSON. A module runs in its own process because it is native code that
may crash or hang, keeps global state (SoftHSM reads SOFTHSM2_CONF once per process), and
must not take the scan down with it.

Every attribute read tolerates refusal: real HSMs refuse more than SoftHSM does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from scanner.collectors.pkcs11.reading import UNREADABLE

# object classes inventoried (others, e.g. domain parameters, are counted only)
_CLASSES = {
    "PRIVATE_KEY": "private-key",
    "PUBLIC_KEY": "public-key",
    "SECRET_KEY": "secret-key",
    "CERTIFICATE": "certificate",
    "DATA": "data",
}
_COMMON = ("LABEL", "ID", "TOKEN", "PRIVATE", "MODIFIABLE")
_KEY = (
    "KEY_TYPE",
    "LOCAL",
    "KEY_GEN_MECHANISM",
    "START_DATE",
    "END_DATE",
    "ENCRYPT",
    "DECRYPT",
    "SIGN",
    "VERIFY",
    "SIGN_RECOVER",
    "VERIFY_RECOVER",
    "WRAP",
    "UNWRAP",
    "DERIVE",
)
_PROTECTED = ("SENSITIVE", "EXTRACTABLE", "ALWAYS_SENSITIVE", "NEVER_EXTRACTABLE", "WRAP_WITH_TRUSTED")
_PUBLIC_PARTS = ("MODULUS", "MODULUS_BITS", "PUBLIC_EXPONENT", "EC_PARAMS", "EC_POINT")
# which attributes each class is asked for; CKA_VALUE only for certificates (public by nature)
_ATTRIBUTES = {
    "private-key": _COMMON + _KEY + _PROTECTED + _PUBLIC_PARTS,
    "public-key": _COMMON + _KEY + _PUBLIC_PARTS + ("TRUSTED",),
    "secret-key": _COMMON + _KEY + _PROTECTED + ("VALUE_LEN",),
    "certificate": (*_COMMON, "CERTIFICATE_TYPE", "VALUE", "START_DATE", "END_DATE"),
    "data": (*_COMMON, "APPLICATION"),
}
_MECHANISM_FUNCTIONS = (
    "ENCRYPT",
    "DECRYPT",
    "DIGEST",
    "SIGN",
    "SIGN_RECOVER",
    "VERIFY",
    "VERIFY_RECOVER",
    "GENERATE",
    "GENERATE_KEY_PAIR",
    "WRAP",
    "UNWRAP",
    "DERIVE",
)


def _enum_name(value: Any) -> str:
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name.lstrip("_")  # python-pkcs11 marks deprecated constants with a leading "_"
    return hex(int(value)) if isinstance(value, int) else str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool | str) or value is None:
        return value
    if hasattr(value, "name") and isinstance(value, int):  # IntEnum, IntFlag
        return _enum_name(value)
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _refusal(exc: BaseException) -> str:
    """How the token refused, by PKCS#11 error name (python-pkcs11's exception class)."""
    return {
        "AttributeSensitive": "sensitive",
        "GeneralError": "general error",
        "AttributeValueInvalid": "invalid value",
    }.get(type(exc).__name__, type(exc).__name__)


def _read_object(pkcs11: Any, obj: Any) -> dict[str, Any] | None:
    Attribute = pkcs11.Attribute
    try:
        object_class = _CLASSES.get(_enum_name(obj[Attribute.CLASS]))
    except Exception:
        return None
    if object_class is None:
        return {"object_class": "other"}
    attributes: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for name in _ATTRIBUTES[object_class]:
        attribute = getattr(Attribute, name, None)
        if attribute is None:
            continue
        try:
            value = obj[attribute]
        except pkcs11.AttributeTypeInvalid:
            continue  # the object has no such attribute: absent, not refused
        except ValueError:
            # python-pkcs11 0.10 raises ValueError on an empty CK_DATE: the object has no date
            attributes[name.lower()] = None
            continue
        except Exception as exc:  # SoftHSM 2.6: CKR_GENERAL_ERROR on dates of private objects
            refused[name.lower()] = _refusal(exc)
            if name in ("START_DATE", "END_DATE"):
                attributes[name.lower()] = UNREADABLE
            continue
        attributes[name.lower()] = _jsonable(value)
    return {"object_class": object_class, "attributes": attributes, "refused": refused}


def _mechanisms(pkcs11: Any, slot: Any) -> Iterator[dict[str, Any]]:
    for mechanism in sorted(slot.get_mechanisms(), key=int):
        entry: dict[str, Any] = {"name": "CKM_" + _enum_name(mechanism)}
        if not hasattr(mechanism, "name"):
            entry["name"] = hex(int(mechanism))
        try:
            info = slot.get_mechanism_info(mechanism)
            entry["functions"] = [
                f.lower() for f in _MECHANISM_FUNCTIONS if info.flags & getattr(pkcs11.MechanismFlag, f)
            ]
            entry["min_key_size"] = int(info.min_key_length)
            entry["max_key_size"] = int(info.max_key_length)
        except Exception:
            pass  # the name alone still tells which mechanisms are offered
        yield entry


def _version(value: Any) -> str:
    try:
        major, minor = value
        return f"{major}.{minor}"
    except Exception:
        return ""


def _login_message(exc: BaseException, pin_source: str) -> str:
    name = type(exc).__name__
    if name == "PinIncorrect":
        return f"login failed: the PIN from {pin_source} is incorrect (CKR_PIN_INCORRECT)"
    if name == "PinLocked":
        return "login failed: the user PIN is locked (CKR_PIN_LOCKED)"
    if name in ("PinLenRange", "PinInvalid"):
        return f"login failed: the PIN from {pin_source} is not a valid PIN for this token ({name})"
    if name == "UserPinNotInitialized":
        return "login failed: the token's user PIN is not initialised"
    return f"login failed: {name}"


def read_module(request: dict[str, Any]) -> dict[str, Any]:
    import pkcs11

    module = request["module"]
    wanted = request.get("token")
    pin_hex = request.get("pin_hex")
    pin_source = request.get("pin_source") or "the PIN source"
    try:
        # python-pkcs11 takes the PIN as text (it encodes it as UTF-8 itself)
        pin = None if pin_hex is None else bytes.fromhex(pin_hex).decode("utf-8")
    except UnicodeDecodeError:
        return {"tokens": [], "errors": [f"the PIN from {pin_source} is not UTF-8 text"]}
    try:
        lib = pkcs11.lib(module)
    except Exception as exc:
        text = str(exc)
        if "C_GetFunctionList" in text:
            reason = "not a PKCS#11 module: the library has no C_GetFunctionList"
        elif "No such file" in text:
            reason = "PKCS#11 module not found: no such file"
        else:
            reason = "not a PKCS#11 module: cannot be loaded as a shared library (" + text.rsplit(": ", 1)[-1] + ")"
        return {"tokens": [], "errors": [reason]}

    tokens: list[dict[str, Any]] = []
    errors: list[str] = []
    try:
        slots = lib.get_slots(token_present=True)
    except Exception as exc:
        return {"tokens": [], "errors": [f"cannot list the module's slots: {type(exc).__name__}"]}
    seen_labels: list[str] = []
    for slot in slots:
        try:
            token = slot.get_token()
            flags = token.flags
            label = token.label.strip()
            serial = token.serial.decode("ascii", "replace").strip()
        except Exception as exc:
            errors.append(f"slot {slot.slot_id}: cannot read the token: {type(exc).__name__}")
            continue
        # SoftHSM always shows one more, uninitialised, slot; such a token holds nothing
        if not flags & pkcs11.TokenFlag.TOKEN_INITIALIZED:
            continue
        seen_labels.append(label)
        if wanted and wanted not in (label, serial):
            continue
        name = f"token {label!r} (serial {serial}, slot {slot.slot_id})"
        entry = _token_entry(pkcs11, slot, token, flags, label, serial)
        login_required = bool(flags & pkcs11.TokenFlag.LOGIN_REQUIRED)
        try:
            # rw=False: a read-only session; the scan changes nothing on the token
            session = token.open(rw=False, user_pin=pin) if pin is not None else token.open(rw=False)
        except Exception as exc:
            errors.append(f"{name}: {_login_message(exc, pin_source)}")
            continue
        entry["logged_in"] = pin is not None
        if pin is None and login_required:
            errors.append(f"{name}: no PIN given ({pin_source} is not set); only public objects were listed")
        try:
            entry["mechanisms"] = list(_mechanisms(pkcs11, slot))
        except Exception as exc:
            entry["problems"].append(f"mechanism list unreadable: {type(exc).__name__}")
        objects: list[dict[str, Any]] = []
        refused = 0
        try:
            for obj in session.get_objects():
                read = _read_object(pkcs11, obj)
                if read is None:
                    refused += 1
                elif read["object_class"] != "other":
                    objects.append(read)
        except Exception as exc:
            entry["problems"].append(f"object listing stopped early: {type(exc).__name__}")
        finally:
            _safe(session.close, None)
        entry["objects"] = objects
        entry["refused_objects"] = refused
        tokens.append(entry)
    if wanted and not tokens and not errors:
        known = ", ".join(repr(label) for label in seen_labels) or "none"
        errors.append(f"no initialised token with label or serial {wanted!r} (tokens: {known})")
    elif not seen_labels and not errors:
        errors.append("the module shows no initialised token")
    return {"tokens": tokens, "errors": errors}


def _token_entry(pkcs11: Any, slot: Any, token: Any, flags: Any, label: str, serial: str) -> dict[str, Any]:
    return {
        "slot_id": slot.slot_id,
        "slot_description": _safe(lambda: slot.slot_description.strip(), ""),
        "label": label,
        "serial": serial,
        "manufacturer": _safe(lambda: token.manufacturer_id.strip(), ""),
        "model": _safe(lambda: token.model.strip(), ""),
        "hardware_version": _safe(lambda: _version(token.hardware_version), ""),
        "firmware_version": _safe(lambda: _version(token.firmware_version), ""),
        "flags": [f.name for f in pkcs11.TokenFlag if f.name and flags & f],
        "logged_in": False,
        "problems": [],
    }


def _safe(reader: Any, default: Any) -> Any:
    try:
        return reader()
    except Exception:
        return default


def main() -> int:
    request = json.loads(sys.stdin.read())
    # native module code may print to fd 1; keep the answer's channel to ourselves
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        reading = read_module(request)
    except Exception as exc:  # a module misbehaving in a way not foreseen: a value, not a trace
        reading = {"tokens": [], "errors": [f"reading the module failed: {type(exc).__name__}"]}
    json.dump(reading, answer)
    answer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
