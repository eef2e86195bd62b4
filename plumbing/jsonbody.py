"""Reading a JSON body a client sent: strictly, or a 400 that says what is wrong.

One parser for every route that takes JSON (the API's writes, the payment webhooks):
UTF-8 only, no NaN or Infinity, integers that fit in 64 bits, at most MAX_DEPTH levels,
and strings without lone surrogates or control characters other than tab and newline
(NUL in a guest's name would reach every report and export).
"""

import json
import re

from plumbing.errors import Refusal

MAX_DEPTH = 32
INT64 = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _refuse(message, field=None):
    raise Refusal(400, message, {field: message} if field else None)


def _constant(name):
    _refuse(f"the body is not valid JSON: {name} is not a number JSON allows")


def parse(raw):
    """bytes -> the parsed JSON value, checked (see the module doc)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        _refuse(f"the body is not valid UTF-8 (byte {error.start})")
    try:
        value = json.loads(text, parse_constant=_constant)
    except RecursionError:
        _refuse(f"the body is nested deeper than {MAX_DEPTH} levels")
    except ValueError as error:
        where = f" at line {error.lineno} column {error.colno}" if hasattr(error, "lineno") else ""
        reason = getattr(error, "msg", None) or "a number has too many digits"
        _refuse(f"the body is not valid JSON: {reason}{where}")
    _check(value, "", 0)
    return value


def _check(value, path, depth):
    if depth > MAX_DEPTH:
        _refuse(f"the body is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for key, inner in value.items():
            _check_text(key, path or "body", "a field name")
            _check(inner, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _check(inner, f"{path}[{index}]", depth + 1)
    elif isinstance(value, str):
        _check_text(value, path or "body", "text")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64:
        _refuse(f"{path or 'body'}: the number does not fit in a 64-bit integer", path or None)


def _check_text(text, path, what):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        _refuse(f"{path}: {what} holds a lone surrogate (\\ud800-\\udfff)", path)
    if _CONTROL.search(text):
        _refuse(
            f"{path}: {what} holds a control character; only tab and newline are allowed",
            path,
        )
