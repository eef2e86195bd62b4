"""Builders for the field shapes the domain repeats: references, money, dates, server-owned."""

OBJECT_ID_EXAMPLE = "6740f0c2a1b2c3d4e5f60718"


# Eve resolves ?embedded= without the owner scoping of the embedded resource, so only
# references to publicly readable resources are embeddable unless a field says otherwise.
PUBLIC_RESOURCES = {"hotels", "room_types", "inventory"}


def ref(resource, description, embeddable=None, **rules):
    """A reference to another resource's _id (embeddable with ?embedded= when public)."""
    if embeddable is None:
        embeddable = resource in PUBLIC_RESOURCES
    return {
        "type": "objectid",
        "data_relation": {"resource": resource, "field": "_id", "embeddable": embeddable},
        "description": description,
        "example": OBJECT_ID_EXAMPLE,
        **rules,
    }


def money(description, example="120.00", **rules):
    """A decimal string in JSON, Decimal128 in MongoDB, in the hotel's currency."""
    return {"type": "money", "description": description, "example": example, **rules}


def day(description, example="2026-12-01", **rules):
    """A stay date: YYYY-MM-DD in JSON, a BSON date at 00:00 UTC in MongoDB."""
    return {"type": "day", "description": description, "example": example, **rules}


def currency(description="ISO 4217 currency code of every amount in this document.", **rules):
    return {
        "type": "string",
        "iso_currency": True,
        "description": description,
        "example": "EUR",
        **rules,
    }


def idempotency_key():
    """The server-owned link from a created document to the Idempotency-Key that made it."""
    return {
        "type": "string",
        "readonly": True,
        "description": "Fingerprint (SHA-256 of user and key) of the Idempotency-Key that "
        "created this document; a retry after a crash finds it by this.",
        "example": "9f2c5d0e4b7a1c3e8f6d2b9a0c4e7f1a3b5d8e0c2a4f6b8d0e2c4a6f8b0d2e4f",
    }


def server_owned(field):
    """Set by the server only: a client sending it gets a 422."""
    return dict(field, readonly=True)


def index(*keys, **options):
    """An Eve mongo_indexes entry: ascending keys unless given as (key, direction)."""
    spec = [k if isinstance(k, tuple) else (k, 1) for k in keys]
    return (spec, options) if options else spec
