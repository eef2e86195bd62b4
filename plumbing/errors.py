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
