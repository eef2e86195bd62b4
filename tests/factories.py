"""What tests build through the API, shared: one place for the bodies and calls every
area's tests make (tests never import each other's modules)."""


def stay(room_type, start, nights=2, **extra):
    """The body that books `nights` nights of a room type from `start`."""
    return {
        "room_type": room_type["_id"],
        "check_in": start.isoformat(),
        "check_out": start.plus(nights).isoformat(),
        **extra,
    }


def book(client, room_type, start, nights=2, headers=None, **extra):
    return client.post("bookings", stay(room_type, start, nights, **extra), headers=headers)


def make_booking(guest, room_type, start, nights=2, **extra):
    """A booking the guest made (201 asserted), as the API answered it."""
    created = book(guest, room_type, start, nights, **extra)
    assert created.status_code == 201, created.json
    return created.json


def booked(db):
    return sorted((r["date"], r["booked"]) for r in db.inventory.find())


def pay(client, booking, method="pm_card_visa", **kw):
    return client.post("payments", {"booking": booking["_id"], "payment_method": method}, **kw)


def change(client, booking, body, etag=None):
    return client.post(
        f"bookings/{booking['_id']}/change",
        body,
        headers={"If-Match": etag or booking["_etag"]},
    )


# A pay-at-the-hotel rate plan: 24 h free, then half the total (tests of guarantees).
AT_HOTEL = {
    "code": "pay-at-hotel",
    "name": "Pay at the hotel",
    "payment": "at_hotel",
    "cancellation": {"free_until_hours": 24, "penalty_percent": 50},
}


def no_show(client, booking):
    """The front desk marks the booking a no-show, with the etag it read."""
    return client.post(
        f"bookings/{booking['_id']}/no-show", headers={"If-Match": booking["_etag"]}
    )


def search(client, room_type, start, nights=3, **params):
    """The offers (200 asserted) for `nights` nights from `start` at the room type's hotel."""
    response = client.get(
        "availability",
        query_string={
            "check_in": start.isoformat(),
            "check_out": start.plus(nights).isoformat(),
            "hotel": room_type["hotel"],
            **params,
        },
    )
    assert response.status_code == 200, response.json
    return response.json["_items"]
