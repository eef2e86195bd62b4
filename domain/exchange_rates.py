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
            "The ISO 4217 currency this rate converts to (EUR itself is always 1).",
            required=True,
            unique=True,
        ),
        "rate": money(
            "Units of the currency for one euro (up to four decimals).",
            example="1.0521",
            required=True,
        ),
        "as_of": day("The day the rate is of.", required=True, example="2026-12-01"),
    },
}
