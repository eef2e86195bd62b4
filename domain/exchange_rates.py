"""Exchange rates: what a search's `display_currency` converts offers with. One rate per
currency against the euro (as the ECB publishes its reference rates), each with its date;
admins keep them, anyone may read them. A charge is always in the hotel's currency."""

from domain.fields import currency, day, index, money

exchange_rates = {
    "item_title": "exchange rate",
    "url": "exchange-rates",
    "description": "Units of a currency that one euro buys, and the day the rate is of. "
    "Searches convert totals with them to compare hotels that price in different "
    "currencies; a booking is charged in its hotel's currency whatever the rate.",
    "resource_methods": ["GET", "POST"],
    "item_methods": ["GET", "PATCH", "PUT", "DELETE"],
    "public_methods": ["GET"],
    "public_item_methods": ["GET"],
    "allowed_write_roles": ["admin"],
    "allowed_item_write_roles": ["admin"],
    "bulk_enabled": False,
    "allowed_filters": ["currency"],
    "mongo_indexes": {"currency": index("currency", unique=True)},
    "schema": {
        "currency": currency(
            "The ISO 4217 currency this rate converts to; not EUR, the base every rate "
            "is of (one euro is always 1 euro).",
            required=True,
            unique=True,
            forbidden=["EUR"],
            example="USD",
        ),
        "rate": money(
            "Units of the currency for one euro (up to four decimals), above 0.",
            example="1.0521",
            required=True,
            above_zero=True,
        ),
        "as_of": day("The day the rate is of.", required=True, example="2026-12-01"),
    },
}
