"""Cerberus rules the domain uses beyond Eve's: money, stay dates, ISO codes, IANA zones.

Each rule reports through self._error with a message a client developer can act on.
"""

from datetime import datetime

from bson import ObjectId
from bson.decimal128 import Decimal128
from cerberus import TypeDefinition, errors
from eve.io.mongo import Validator as EveValidator
from eve.validation import SingleErrorAsStringErrorHandler

from domain.policy import OWNER_SCOPED
from domain.vocabulary import COUNTRIES, CURRENCIES, TIMEZONES

TYPE_MESSAGES = {
    "money": 'must be a decimal string such as "120.00" (not a JSON number)',
    "day": "must be a date in YYYY-MM-DD format, such as 2026-12-01",
    "datetime": "must be an ISO 8601 UTC timestamp such as 2026-12-01T14:30:00Z",
    "objectid": "must be a 24-character hexadecimal id",
    "integer": "must be a whole number",
    "boolean": "must be true or false",
    "string": "must be a string",
    "dict": "must be an object",
    "list": "must be a list",
    "point": 'must be a GeoJSON Point: {"type": "Point", "coordinates": [lng, lat]}',
}


class ErrorHandler(SingleErrorAsStringErrorHandler):
    """Cerberus' messages, with type errors that say what the value should look like."""

    messages = {
        **errors.BasicErrorHandler.messages,
        errors.UNKNOWN_FIELD.code: "unknown field: it is not part of this resource",
        errors.READONLY_FIELD.code: "is set by the server and cannot be sent",
        errors.REQUIRED_FIELD.code: "required field",
    }

    def _format_message(self, field, error):
        if error.code == errors.BAD_TYPE.code:
            constraint = error.constraint
            if isinstance(constraint, str) and constraint in TYPE_MESSAGES:
                return TYPE_MESSAGES[constraint]
        if error.code == errors.FORBIDDEN_VALUE.code:
            return f"unallowed value {error.value}: must not be {', '.join(error.constraint)}"
        if error.code in (errors.UNALLOWED_VALUE.code, errors.UNALLOWED_VALUES.code):
            # "unallowed value MARS" says what is wrong, not what is right.
            value = error.value if error.code == errors.UNALLOWED_VALUE.code else error.info[0]
            return f"unallowed value {value}: must be {allowed_list(error.constraint)}"
        return super()._format_message(field, error)


def allowed_list(allowed, shown=20):
    """`one of a, b, c` - the first `shown` of a long vocabulary, and how many more."""
    allowed = [str(value) for value in allowed]
    if len(allowed) <= shown:
        return "one of " + ", ".join(allowed)
    return (
        f"one of {', '.join(allowed[:shown])}, ... ({len(allowed)} values; the OpenAPI "
        "document lists them all)"
    )


class Validator(EveValidator):
    types_mapping = dict(EveValidator.types_mapping)
    types_mapping["money"] = TypeDefinition("money", (Decimal128,), ())
    types_mapping["day"] = TypeDefinition("day", (datetime,), ())
    # JSON true is not the number 1.
    types_mapping["integer"] = TypeDefinition("integer", (int,), (bool,))
    types_mapping["number"] = TypeDefinition("number", (int, float), (bool,))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Eve installs its own handler in __init__; ours adds actionable messages.
        self.error_handler = ErrorHandler(self)

    # Eve checks that a referenced document exists. Not for references to a guest's own
    # records (bookings): the hooks look those up with the caller as owner and answer
    # 404 for missing and foreign alike - the contract's "another user's booking is a
    # 404", without a 422 that would tell a guest which ids exist, and with the owner as
    # the shard-key prefix (plumbing/sharding.py). The docstring is Cerberus's rule
    # schema, as in Eve.
    def _validate_data_relation(self, data_relation, field, value):
        """{'type': 'dict',
        'schema': {
           'resource': {'type': 'string', 'required': True},
           'field': {'type': 'string', 'required': True},
           'embeddable': {'type': 'boolean', 'default': False},
           'version': {'type': 'boolean', 'default': False}
        }}"""
        if data_relation.get("resource") in OWNER_SCOPED:
            return
        super()._validate_data_relation(data_relation, field, value)

    def _validate_type_objectid(self, value):
        return isinstance(value, ObjectId)

    # Documentation rules: they feed OpenAPI, the docs and the admin, and never fail.
    def _validate_description(self, description, field, value):
        """{'type': 'string'}"""

    def _validate_example(self, example, field, value):
        """{'nullable': True}"""

    def _validate_iso_country(self, enabled, field, value):
        """{'type': 'boolean'}"""
        if enabled and isinstance(value, str) and value not in COUNTRIES:
            self._error(field, "must be an ISO 3166-1 alpha-2 country code such as 'FR'")

    def _validate_iso_currency(self, enabled, field, value):
        """{'type': 'boolean'}"""
        if enabled and isinstance(value, str) and value not in CURRENCIES:
            self._error(field, "must be an ISO 4217 currency code such as 'EUR'")

    def _validate_above_zero(self, enabled, field, value):
        """{'type': 'boolean'}"""
        if enabled and isinstance(value, Decimal128) and value.to_decimal() <= 0:
            self._error(field, "must be above 0")

    def _validate_iana_timezone(self, enabled, field, value):
        """{'type': 'boolean'}"""
        if enabled and isinstance(value, str) and value not in TIMEZONES:
            self._error(field, "must be an IANA time zone such as 'Europe/Paris'")

    def _validate_clock_time(self, enabled, field, value):
        """{'type': 'boolean'}"""
        if not (enabled and isinstance(value, str)):
            return
        hours, _, minutes = value.partition(":")
        ok = (
            len(value) == 5
            and value.isascii()
            and hours.isdigit()
            and minutes.isdigit()
            and int(hours) < 24
            and int(minutes) < 60
        )
        if not ok:
            self._error(field, "must be a 24-hour clock time HH:MM such as '15:00'")

    def _validate_coordinates_in_range(self, enabled, field, value):
        """{'type': 'boolean'}"""
        if not (enabled and isinstance(value, dict)):
            return
        coords = value.get("coordinates")
        if isinstance(coords, list) and len(coords) == 2:
            lng, lat = coords
            if (
                isinstance(lng, int | float)
                and isinstance(lat, int | float)
                and not (-180 <= lng <= 180 and -90 <= lat <= 90)
            ):
                self._error(field, "coordinates must be [longitude -180..180, latitude -90..90]")
