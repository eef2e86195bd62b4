"""All-in prices (catalogue/charges.py): taxes and fees in every offer, booking, calendar
day and refund; totals compared across currencies (search/currencies.py); cities found as
people type them. Every expected amount below is computed by hand in its comment."""

from decimal import Decimal

import pytest

from reporting import kpis
from tests.conftest import ApiClient, stock_room_type
from tests.factories import change, make_booking, pay, search

PARIS_TAXES = {
    "vat_percent": 10,
    "vat_included": True,
    "city_tax": {"per_person_per_night": "2.88", "children_exempt": True},
}
TOKYO = {
    "name": "Tokyo Inn",
    "address": {"line1": "1-1 Ginza", "city": "Tokyo", "country": "JP"},
    "location": {"type": "Point", "coordinates": [139.77, 35.67]},
    "currency": "JPY",
    "timezone": "Asia/Tokyo",
    "taxes": {
        "vat_name": "Consumption tax",
        "vat_percent": 10,
        "city_tax": {"per_person_per_night": "200", "children_exempt": False},
    },
}


@pytest.fixture
def paris_family(make_hotel, make_room_type, admin):
    """A Paris hotel with VAT 10 % included and a city tax of 2.88 per adult per night;
    a family room at 120.00 a night."""

    def _make(policy=None, **room_type):
        hotel = make_hotel(
            taxes=PARIS_TAXES,
            cancellation_policy=policy or {"free_until_hours": 48, "penalty_percent": 100},
        )
        kind = make_room_type(hotel, name="Family", max_adults=2, max_children=1, **room_type)
        start = stock_room_type(admin, kind, nights=3, price="120.00")
        return hotel, kind, start

    return _make


def _rates(admin, **rates):
    for currency, rate in rates.items():
        created = admin.post(
            "exchange-rates", {"currency": currency, "rate": rate, "as_of": "2026-12-01"}
        )
        assert created.status_code == 201, created.json


# 3 nights x 120.00 = 360.00; VAT included: 360.00 - 360.00 / 1.10 = 360.00 - 327.27 =
# 32.73; city tax 2.88 x 2 adults x 3 nights = 17.28 (the child is exempt);
# all-in 360.00 + 17.28 = 377.28.
PARIS_BREAKDOWN = {
    "room": "360.00",
    "taxes": [
        {"code": "vat", "name": "VAT 10 % (included)", "amount": "32.73", "included": True},
        {"code": "city_tax", "name": "City tax", "amount": "17.28", "included": False},
    ],
    "fees": [],
    "total": "377.28",
}


def test_a_paris_family_is_offered_charged_and_counted_the_all_in_total(
    paris_family, guest, db, client
):
    _hotel, kind, start = paris_family()
    (offer,) = search(client, kind, start, nights=3, adults=2, children=1)
    assert offer["price_breakdown"] == PARIS_BREAKDOWN
    assert (offer["total_price"], offer["currency"]) == ("377.28", "EUR")
    assert [n["price"] for n in offer["nightly_prices"]] == ["120.00"] * 3

    booking = make_booking(guest, kind, start, nights=3, adults=2, children=1)
    stored = guest.get(f"bookings/{booking['_id']}").json
    assert stored["total_price"] == "377.28"
    assert stored["price_breakdown"] == PARIS_BREAKDOWN
    assert stored["rooms"][0]["price_breakdown"] == PARIS_BREAKDOWN
    paid = pay(guest, booking)
    assert paid.status_code == 201 and paid.json["amount"] == "377.28"

    # The KPIs' room revenue is without VAT or city tax: 327.27 over the three nights
    # (109.09 each), not the 377.28 charged.
    rows = kpis.from_scratch(db)
    revenue = sum((r["room_revenue"].to_decimal() for r in rows), Decimal(0))
    assert revenue == Decimal("327.27")
    # ... and so do the rows the worker keeps ready
    kpis.refresh(db)
    kept = sum((r["room_revenue"].to_decimal() for r in db.occupancy_daily.find()), Decimal(0))
    assert kept == Decimal("327.27")


@pytest.mark.parametrize(
    ("plan", "refund"),
    [
        # past the free window, half of the 360.00 is kept: 180.00 + the city tax 17.28
        ({"code": "flexible", "name": "Flexible"}, "197.28"),
        # non-refundable: nothing of the room, and still all of the city tax
        (
            {"code": "saver", "name": "Saver", "cancellation": {"refundable": False}},
            "17.28",
        ),
    ],
)
def test_a_cancellation_refunds_the_city_tax_in_full(paris_family, guest, plan, refund):
    # free until 30 days before arrival, then half kept: the stay 10 days ahead is inside
    _hotel, kind, start = paris_family(
        policy={"free_until_hours": 720, "penalty_percent": 50}, rate_plans=[plan]
    )
    booking = make_booking(guest, kind, start, nights=3, adults=2, children=1)
    assert pay(guest, booking).status_code == 201
    current = guest.get(f"bookings/{booking['_id']}").json
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.json
    after = guest.get(f"bookings/{booking['_id']}").json
    assert (current["total_price"], after["refund_amount"]) == ("377.28", refund)


def test_added_vat_and_fees_per_night(make_hotel, make_room_type, admin, client):
    # New York: sales tax 14.75 % added, an occupancy fee of 2.00 per room per night.
    hotel = make_hotel(
        address={"line1": "1 Broadway", "city": "New York", "country": "US"},
        currency="USD",
        timezone="America/New_York",
        taxes={
            "vat_name": "Sales tax",
            "vat_percent": 14.75,
            "vat_included": False,
            "fees": [
                {"code": "occupancy", "name": "Occupancy fee", "amount": "2.00", "per": "night"}
            ],
        },
    )
    kind = make_room_type(hotel)
    start = stock_room_type(admin, kind, nights=3, price="100.00")
    (offer,) = search(client, kind, start, nights=3, adults=2)
    # 300.00 + 14.75 % (44.25) + 3 x 2.00 = 350.25
    assert offer["price_breakdown"] == {
        "room": "300.00",
        "taxes": [
            {"code": "vat", "name": "Sales tax 14.75 %", "amount": "44.25", "included": False}
        ],
        "fees": [{"code": "occupancy", "name": "Occupancy fee", "amount": "6.00"}],
        "total": "350.25",
    }
    assert offer["total_price"] == "350.25"


def _tokyo_and_paris(paris_family, make_hotel, make_room_type, admin):
    """Paris 2 nights at 120.00 for 2 adults: 240.00 + city tax 2.88 x 2 x 2 = 251.52 EUR.
    Tokyo 2 nights at 15000 JPY for 2 adults: 30000 + 200 x 2 x 2 = 30800 JPY."""
    _hotel, paris, start = paris_family()
    tokyo = make_room_type(make_hotel(**TOKYO))
    stock_room_type(admin, tokyo, nights=3, price="15000", start=start)
    _rates(admin, USD="1.0800", JPY="165.0000")
    return paris, tokyo, start


def _offers(client, start, **params):
    found = client.get(
        "availability",
        query_string={
            "check_in": str(start),
            "check_out": str(start.plus(2)),
            "adults": 2,
            **params,
        },
    )
    assert found.status_code == 200, found.json
    return found.json


def test_a_tokyo_stay_in_yen_compared_with_a_paris_stay_in_dollars(
    paris_family, make_hotel, make_room_type, admin, client
):
    _paris, _tokyo, start = _tokyo_and_paris(paris_family, make_hotel, make_room_type, admin)
    answer = _offers(client, start, display_currency="usd")
    # Tokyo: 30800 JPY / 165 x 1.08 = 201.60 USD; Paris: 251.52 EUR x 1.08 = 271.6416,
    # 271.64 USD. In raw minor units Paris (25152) would sort before Tokyo (30800).
    shown = [
        (o["hotel"]["city"], o["total_price"], o["currency"], o["converted"]["total_price"])
        for o in answer["_items"]
    ]
    assert shown == [("Tokyo", "30800", "JPY", "201.60"), ("Paris", "251.52", "EUR", "271.64")]
    assert answer["_items"][0]["converted"] == {
        "total_price": "201.60",
        "currency": "USD",
        "rates_as_of": "2026-12-01",
    }
    assert answer["_meta"]["compared_in"] == "USD"
    tokyo_lines = answer["_items"][0]["price_breakdown"]
    # 10 % included in 30000: 30000 - 30000 / 1.1 = 30000 - 27273 = 2727
    assert tokyo_lines["taxes"][0] == {
        "code": "vat",
        "name": "Consumption tax 10 % (included)",
        "amount": "2727",
        "included": True,
    }
    # max_price is in the display currency: 250 USD keeps Tokyo (201.60), not Paris (271.64)
    capped = _offers(client, start, display_currency="USD", max_price="250.00")
    assert [o["hotel"]["city"] for o in capped["_items"]] == ["Tokyo"]
    # The most expensive first, compared in dollars too.
    dearest = _offers(client, start, display_currency="USD", sort="-total_price")
    assert [o["hotel"]["city"] for o in dearest["_items"]] == ["Paris", "Tokyo"]


def test_a_search_spanning_currencies_compares_in_euros_and_says_so(
    paris_family, make_hotel, make_room_type, admin, client
):
    _paris, _tokyo, start = _tokyo_and_paris(paris_family, make_hotel, make_room_type, admin)
    answer = _offers(client, start)
    # Tokyo 30800 / 165 = 186.67 EUR, below Paris's 251.52: Tokyo first.
    assert [o["hotel"]["city"] for o in answer["_items"]] == ["Tokyo", "Paris"]
    assert answer["_meta"]["compared_in"] == "EUR"
    # each offer shows what it was compared by
    assert [o["converted"]["total_price"] for o in answer["_items"]] == ["186.67", "251.52"]
    # max_price=200 is in euros: Tokyo (186.67 EUR) stays, Paris goes
    capped = _offers(client, start, max_price="200.00")
    assert [o["hotel"]["city"] for o in capped["_items"]] == ["Tokyo"]
    # One city, one currency: compared as priced, and _meta says nothing of currencies.
    paris_only = _offers(client, start, city="Paris")
    assert "compared_in" not in paris_only["_meta"]


def test_a_display_currency_without_a_rate_is_a_400_naming_it(paris_family, client):
    _hotel, _kind, start = paris_family()
    refused = client.get(
        "availability",
        query_string={
            "check_in": str(start),
            "check_out": str(start.plus(2)),
            "display_currency": "CHF",
        },
    )
    assert refused.status_code == 400
    assert "display_currency" in refused.json["_issues"]
    assert "no exchange rate for CHF" in refused.json["_error"]["message"]


def test_the_price_calendar_shows_the_breakdown_and_the_converted_lowest(
    paris_family, make_hotel, make_room_type, admin, client
):
    _paris, _tokyo, start = _tokyo_and_paris(paris_family, make_hotel, make_room_type, admin)
    days = client.get(
        "availability/calendar",
        query_string={
            "from": str(start),
            "to": str(start.plus(1)),
            "nights": 2,
            "adults": 2,
            "display_currency": "USD",
        },
    )
    assert days.status_code == 200, days.json
    ((lowest,),) = [d["lowest"] for d in days.json["_items"]]
    assert (lowest["hotel"]["name"], lowest["total_price"], lowest["currency"]) == (
        "Tokyo Inn",
        "30800",
        "JPY",
    )
    assert lowest["converted"]["total_price"] == "201.60"
    assert lowest["price_breakdown"]["total"] == "30800"


def test_cities_are_found_as_people_type_them(make_hotel, make_room_type, admin, client):
    zurich = make_hotel(
        name="Hotel Limmat",
        address={"line1": "Limmatquai 1", "city": "Zürich", "country": "CH"},
        currency="CHF",
        timezone="Europe/Zurich",
    )
    kind = make_room_type(zurich)
    start = stock_room_type(admin, kind, nights=2, price="200.00")
    stay = {"check_in": str(start), "check_out": str(start.plus(2))}
    for typed in ("Zürich", "zurich", "ZURICH", " Zurich "):
        found = client.get("availability", query_string={**stay, "city": typed})
        assert found.status_code == 200
        assert [o["hotel"]["name"] for o in found.json["_items"]] == ["Hotel Limmat"], typed
    missed = client.get("availability", query_string={**stay, "city": "Zurch"})
    assert missed.status_code == 200 and missed.json["_items"] == []
    assert missed.json["_meta"]["did_you_mean"] == ["Zürich"]
    assert missed.json["_meta"]["city"] == "no hotel in a city named 'zurch'"


def test_taxes_must_fit_the_hotels_currency(make_hotel, admin):
    hotel = make_hotel()
    refused = admin.patch_item(
        f"hotels/{hotel['_id']}",
        {"taxes": {"fees": [{"code": "resort", "name": "Resort fee", "amount": "5.125"}]}},
    )
    assert refused.status_code == 422
    assert "taxes.fees.0.amount" in refused.json["_issues"]
    twice = admin.patch_item(
        f"hotels/{hotel['_id']}",
        {
            "taxes": {
                "fees": [
                    {"code": "resort", "name": "Resort fee", "amount": "5.00"},
                    {"code": "resort", "name": "Resort fee again", "amount": "1.00"},
                ]
            }
        },
    )
    assert twice.status_code == 422 and "appears twice" in str(twice.json["_issues"])
    yen = make_hotel(currency="JPY")
    fraction = admin.patch_item(
        f"hotels/{yen['_id']}", {"taxes": {"city_tax": {"per_person_per_night": "2.50"}}}
    )
    assert fraction.status_code == 422
    assert "JPY allows (0)" in fraction.json["_issues"]["taxes.city_tax"]


def test_the_read_model_follows_the_rates(
    paris_family, make_hotel, make_room_type, admin, model_app
):
    _paris, _tokyo, start = _tokyo_and_paris(paris_family, make_hotel, make_room_type, admin)
    client = ApiClient(model_app.test_client())
    first = _offers(client, start, display_currency="USD")
    assert first["_items"][0]["converted"]["total_price"] == "201.60"
    rate = admin.get("exchange-rates", query_string={"where": '{"currency": "JPY"}'}).json
    (jpy,) = rate["_items"]
    moved = admin.patch_item(f"exchange-rates/{jpy['_id']}", {"rate": "154.0000"})
    assert moved.status_code == 200, moved.json
    # 30800 / 154 x 1.08 = 216.00 USD, from the model, in the very next search: it waits
    # until the model has applied the stream up to the rate's write (search/model.py)
    after = client.get(
        "availability",
        query_string={
            "check_in": str(start),
            "check_out": str(start.plus(2)),
            "adults": 2,
            "display_currency": "USD",
        },
    )
    assert after.headers["X-Search-Source"] == "model"
    assert after.json["_items"][0]["converted"]["total_price"] == "216.00"


def test_a_change_of_dates_reprices_the_taxes_too(paris_family, guest):
    _hotel, kind, start = paris_family()
    booking = make_booking(guest, kind, start, nights=3, adults=2)
    # two nights instead of three: 240.00 + city tax 2.88 x 2 adults x 2 nights (11.52)
    changed = change(guest, booking, {"check_out": start.plus(2).isoformat()})
    assert changed.status_code == 200, changed.json
    stored = guest.get(f"bookings/{booking['_id']}").json
    assert stored["total_price"] == "251.52"
    assert stored["price_breakdown"]["taxes"][1] == {
        "code": "city_tax",
        "name": "City tax",
        "amount": "11.52",
        "included": False,
    }
    assert stored["tax_terms"]["city_tax"]["per_person_per_night"] == "2.88"


def test_vat_takes_two_decimals_at_most(make_hotel, admin):
    hotel = make_hotel()
    refused = admin.patch_item(f"hotels/{hotel['_id']}", {"taxes": {"vat_percent": 7.725}})
    assert refused.status_code == 422
    assert refused.json["_issues"] == {"taxes.vat_percent": "has more than two decimal places"}


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        (
            {"currency": "EUR", "rate": "1.0000"},
            "currency",
            "unallowed value EUR: must not be EUR",
        ),
        ({"currency": "USD", "rate": "0.0000"}, "rate", "must be above 0"),
    ],
)
def test_an_exchange_rate_of_the_euro_or_of_nothing_is_refused(admin, db, body, field, reason):
    refused = admin.post("exchange-rates", {**body, "as_of": "2026-12-01"})
    assert refused.status_code == 422
    assert refused.json["_issues"] == {field: reason}
    assert db.exchange_rates.count_documents({}) == 0
