"""Values at the edges: money as decimal strings, stay dates as YYYY-MM-DD, both typed in BSON.

JSON carries money as "120.00" and stay dates as "2026-12-01"; MongoDB stores Decimal128
and BSON dates at 00:00 UTC. Everything between the two uses Decimal and Day.
"""

import re
import secrets
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from bson.decimal128 import Decimal128

# ASCII digits only: Python's \d, int() and Decimal() also take Arabic-Indic and other
# digits, and "١٠٠.٠٠" must not become a price.
_MONEY_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,4})?$")
_DAY_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_INT_RE = re.compile(r"^-?[0-9]{1,18}$")

# ISO 4217 minor units that are not 2; every other active code uses 2.
MINOR_UNITS = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"]
        + ["RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


class Day(datetime):
    """A stay date: a naive UTC datetime at midnight that renders as YYYY-MM-DD."""

    @classmethod
    def of(cls, value):
        if isinstance(value, datetime):
            return cls(value.year, value.month, value.day)
        if isinstance(value, date):
            return cls(value.year, value.month, value.day)
        raise TypeError(f"not a date: {value!r}")

    @classmethod
    def parse(cls, text):
        if not isinstance(text, str) or not _DAY_RE.match(text):
            raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
        return cls.of(date.fromisoformat(text))

    def plus(self, days):
        return Day.of(self + timedelta(days=days))

    def isoformat(self, *args, **kwargs):  # noqa: ARG002 - JSON rendering
        # not strftime("%Y"): glibc writes the year 14 as "14", not "0014"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    __str__ = isoformat


def parse_int(text):
    """A whole number written in ASCII digits (no "1_000", " 7", "٣"), else ValueError."""
    if not isinstance(text, str) or not _INT_RE.match(text):
        raise ValueError(f"not a whole number: {text!r}")
    return int(text)


def today():
    return Day.of(datetime.now(UTC))


def utcnow():
    """Timezone-naive UTC now, truncated to milliseconds like BSON dates."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def stamp(now=None):
    """The meta fields every server-side change of a document sets, so its ETag and
    Last-Modified change with it (If-None-Match never answers 304 on stale data)."""
    return {"_updated": now or utcnow(), "_etag": secrets.token_hex(20)}


def created(now=None):
    """Meta fields for a document the server creates itself."""
    now = now or utcnow()
    return {"_created": now, **stamp(now)}


def nights(check_in, check_out):
    """The nights d of a stay: check_in <= d < check_out."""
    return [check_in.plus(i) for i in range((check_out - check_in).days)]


def parse_days(source, names, issues):
    """{name: Day} for the names in `source` that are dates; each one missing or
    malformed is noted in `issues`, the same way for bodies and query strings."""
    days = {}
    for name in names:
        try:
            days[name] = Day.parse(source.get(name))
        except ValueError:
            issues[name] = "required, a date in YYYY-MM-DD format"
    return days


def minor_units(currency):
    return MINOR_UNITS.get(currency, 2)


def parse_money(text):
    """A decimal string from a client -> Decimal128; anything else is a ValueError."""
    if not isinstance(text, str) or not _MONEY_RE.match(text):
        raise ValueError(f"not a decimal string: {text!r}")
    return Decimal128(Decimal(text))


def to_decimal(value):
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a decimal: {value!r}") from None


def quantize(amount, currency):
    """Round half-up to the currency's minor unit ("12.345" EUR -> 12.35, JPY -> 12)."""
    exp = Decimal(1).scaleb(-minor_units(currency))
    return to_decimal(amount).quantize(exp, rounding=ROUND_HALF_UP)


def fits_currency(amount, currency):
    """True when the amount has no more decimal places than the currency allows."""
    amount = to_decimal(amount)
    return amount == quantize(amount, currency)


def money(amount, currency):
    """Decimal -> Decimal128 with exactly the currency's minor-unit digits."""
    return Decimal128(quantize(amount, currency))


def to_minor(amount, currency):
    """An amount as a whole number of the currency's minor units ("120.50" EUR -> 12050)."""
    return int(quantize(amount, currency).scaleb(minor_units(currency)))


def minor_text(minor, currency):
    """Whole minor units -> the decimal string `money` renders (12050 EUR -> "120.50"),
    without a Decimal: searches sum and render thousands of these."""
    digits = MINOR_UNITS.get(currency, 2)
    if digits == 2 and minor >= 0:  # nearly every amount: the short way
        return f"{minor // 100}.{minor % 100:02d}"
    if digits == 0:
        return str(minor)
    whole, part = divmod(abs(minor), 10**digits)
    return f"{'-' if minor < 0 else ''}{whole}.{part:0{digits}d}"


def decode_days(document, fields):
    """Turn BSON dates in stay-date fields into Day, in place. `fields` is the tree
    plumbing.jsonschema.day_fields gives: {"check_in": True, "nightly_prices": {"date": True}}.
    """
    if not isinstance(document, dict):
        return document
    for name, inner in fields.items():
        if name in document:
            value = document[name]
            if isinstance(value, list):
                document[name] = [_decode_day(v, inner) for v in value]
            else:
                document[name] = _decode_day(value, inner)
    return document


def _decode_day(value, inner):
    if inner is True:
        return Day.of(value) if isinstance(value, datetime) else value
    return decode_days(value, inner)


def local_today(timezone, now=None):
    """Today's date in a time zone."""
    now = now or utcnow()
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone or "UTC"))
    return Day(local.year, local.month, local.day)


_CITY_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2013'\u2019.,]+")


def city_key(name):
    """A city's name as people type it, normalised for matching: accents dropped, case
    folded, hyphens, apostrophes and runs of spaces as one space ("Zürich" -> "zurich",
    "Saint-Étienne" -> "saint etienne")."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(_CITY_SEPARATORS.split(plain)).strip()
