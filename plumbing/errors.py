"""Refusal: how services say no, with a status, a message and per-field issues.

It is a werkzeug HTTPException (a plain exception class, no request involved) because Eve
re-raises those from its hooks, where it would turn any other exception into a bare 400.
"""

from werkzeug.exceptions import HTTPException


class Refusal(HTTPException):
    """A business-rule refusal; the web layer renders it in the contract's error shape."""

    def __init__(self, status, message, issues=None, headers=None):
        super().__init__(description=message)
        self.code = status
        self.status = status
        self.message = message
        self.issues = issues or {}
        self.headers = headers or {}


def invalid(field, reason, message=None):
    """A 422 about one field."""
    return Refusal(422, message or f"{field} {reason}", {field: reason})


DUPLICATE_KEY = 11000
DOCUMENT_VALIDATION_FAILURE = 121  # MongoDB's $jsonSchema validator refused the write


def write_error_codes(error):
    """MongoDB's error codes in a driver error (a bulk write's each), or in the one an
    Eve abort wraps."""
    while isinstance(error, HTTPException):
        error = error.__context__
    if error is None:
        return set()
    details = getattr(error, "details", None) or {}
    codes = {e.get("code") for e in details.get("writeErrors", [])}
    return codes | {getattr(error, "code", None)} - {None}


def refused_by_validator(error):
    """Whether MongoDB's validator refused a write: this server validated by a domain
    the database no longer has."""
    return DOCUMENT_VALIDATION_FAILURE in write_error_codes(error)


def rules_changed():
    """The 503 for a write MongoDB's validator refused (see refused_by_validator)."""
    return Refusal(
        503,
        "MongoDB refused the write: the domain was changed (flask --app run domain apply) "
        "after this API server started, and it still validates by the old one. Restart "
        "the API servers to pick up the new domain; nothing was written.",
        headers={"Retry-After": "30"},
    )
