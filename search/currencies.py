"""Comparing offers priced in different currencies: a search's `display_currency`, or the
euro when a search spans currencies without one.

The rates are the admins' table (`exchange-rates`: units of a currency one euro buys,
each with its day), read from the search's source - the read model holds it, the
database answers it in one small find. A total in currency A is shown in B as
total x rate(B) / rate(A), in whole minor units of B, rounded half-up: exact integer
arithmetic (fractions), so sorting, `max_price` and the amount shown agree. The charge
stays in the hotel's currency; the converted amount is what a guest compares.
"""

from fractions import Fraction

from plumbing.errors import Refusal
from plumbing.values import Day, minor_text, minor_units

BASE = "EUR"  # rates are per euro, as the ECB's reference rates are


class Comparison:
    """How one search compares totals: in `currency`, converting each card's currency by
    an exact factor; NATIVE when every offer shares one currency and none was asked."""

    def __init__(self, currency, factors, as_of, missing=()):
        self.currency, self._factors, self.as_of = currency, factors, as_of
        self.missing = sorted(missing)  # currencies without a rate: their offers are left out

    def can(self, currency):
        return currency in self._factors

    def convert(self, minor, currency):
        """`minor` units of `currency` in whole minor units of the comparison currency."""
        numerator, denominator = self._factors[currency]
        return (minor * numerator * 2 + denominator) // (2 * denominator)

    def shown(self, minor, currency):
        """What an offer shows beside its charged total."""
        return {
            "total_price": minor_text(self.convert(minor, currency), self.currency),
            "currency": self.currency,
            "rates_as_of": self.as_of,
        }

    def meta(self):
        said = {"compared_in": self.currency, "rates_as_of": self.as_of}
        if self.missing:
            said["left_out"] = (
                f"offers in {', '.join(self.missing)}: no exchange rate to compare them by"
            )
        return said


class Native:
    """Every offer in the one currency of its hotel, compared as it is."""

    currency = None
    missing = ()

    def can(self, currency):  # noqa: ARG002 - the same question as Comparison's
        return True

    def convert(self, minor, currency):  # noqa: ARG002
        return minor

    def meta(self):
        return {}


NATIVE = Native()


def rate_table(rows):
    """{currency: (rate as a Fraction, its day as YYYY-MM-DD)} from exchange-rate
    documents, with the euro at 1."""
    table = {BASE: (Fraction(1), None)}
    for row in rows:
        rate = row["rate"].to_decimal() if hasattr(row["rate"], "to_decimal") else row["rate"]
        if rate > 0:
            table[row["currency"]] = (Fraction(rate), Day.of(row["as_of"]).isoformat())
    return table


def comparison(source, wanted, currencies):
    """The Comparison of a search over cards in `currencies`, asked for in `wanted`
    (display_currency, or None); 400 when `wanted` has no rate."""
    if wanted is None and len(currencies) <= 1:
        return NATIVE
    target = wanted or BASE
    table = source.rates()
    if target not in table:
        known = ", ".join(sorted(table))
        raise Refusal(
            400,
            f"no exchange rate for {target}: display_currency may be one of {known}",
            {"display_currency": f"must be one of {known} (the exchange-rates table)"},
        )
    to_rate, to_day = table[target]
    factors, days, missing = {}, {to_day} - {None}, []
    for currency in currencies:
        if currency not in table:
            missing.append(currency)
            continue
        from_rate, from_day = table[currency]
        factor = (
            to_rate / from_rate * Fraction(10) ** (minor_units(target) - minor_units(currency))
        )
        factors[currency] = (factor.numerator, factor.denominator)
        if from_day:
            days.add(from_day)
    as_of = min(days) if days else None  # the oldest rate the comparison used
    return Comparison(target, factors, as_of, missing)
