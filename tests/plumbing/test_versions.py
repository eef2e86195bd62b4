"""API versions side by side (domain/versions.py, plumbing/versions.py): version 2 by its
path or its media type, a guest's journey in version 2's shapes, version 1 unchanged
and announcing its sunset, each version's own OpenAPI document."""

import json

import pytest

from domain import build_domain
from domain import versions as declared
from plumbing import metrics
from tests.conftest import stock_room_type

V2 = "/api/v2/"
TAXES = {"vat_percent": 10, "city_tax": {"per_person_per_night": "2.88"}}


@pytest.fixture
def priced(make_hotel, make_room_type, admin):
    """A taxed Paris hotel's Double at 120.00 a night, three nights stocked."""
    kind = make_room_type(make_hotel(taxes=TAXES))
    return kind, stock_room_type(admin, kind, nights=3, price="120.00")


def _hrefs(value):
    if isinstance(value, dict):
        if isinstance(value.get("href"), str):
            yield value["href"], value.get("method", "GET")
        for item in value.values():
            yield from _hrefs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _hrefs(item)


def _stay(start, nights=2):
    return {"check_in": str(start), "check_out": str(start.plus(nights)), "adults": 2}


def test_version_2_by_path_or_media_type_and_none_that_does_not_exist(client, priced):
    kind, start = priced
    by_path = client.get(V2 + f"room-types/{kind['_id']}")
    by_type = client.get(
        f"room-types/{kind['_id']}", headers={"Accept": "application/json; version=2"}
    )
    assert by_path.status_code == by_type.status_code == 200
    assert by_path.headers["API-Version"] == by_type.headers["API-Version"] == "2"
    assert "Accept" in by_path.headers["Vary"]
    assert by_path.json["_links"]["self"]["href"] == f"/api/v2/room-types/{kind['_id']}"
    assert by_type.json["_links"]["self"]["href"] == by_path.json["_links"]["self"]["href"]
    missing = client.get(
        f"room-types/{kind['_id']}", headers={"Accept": "application/json; version=7"}
    )
    assert missing.status_code == 406
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert missing.json["detail"] == "there is no API version 7: ask for one of 1, 2"
    no_path = client.get(f"/api/v3/room-types/{kind['_id']}")
    assert no_path.status_code == 404 and no_path.json["status"] == 404


def test_version_1_is_unchanged_and_says_when_it_goes(client, priced):
    kind, start = priced
    answer = client.get(f"room-types/{kind['_id']}")
    assert answer.headers["API-Version"] == "1"
    assert answer.headers["Deprecation"] == "@1796342400"  # 2026-12-04T00:00:00Z
    assert answer.headers["Sunset"] == "Fri, 31 Dec 2027 23:59:59 GMT"
    assert answer.headers["Link"] == '</api/v2/migration>; rel="deprecation"; type="text/markdown"'
    assert answer.json["_links"]["self"]["href"] == f"room-types/{kind['_id']}"
    guide = client.get("/api/v2/migration")
    assert guide.status_code == 200 and guide.mimetype == "text/markdown"
    assert "# Moving from API version 1 to version 2" in guide.text


def test_a_guests_journey_in_version_2(client, guest, priced):
    kind, start = priced
    offers = client.get(V2 + "availability", query_string={**_stay(start), "hotel": kind["hotel"]})
    assert offers.status_code == 200
    (offer,) = [o for o in offers.json["_items"] if o["rate_plan"]["code"] == "standard"]
    # money is an object: 240.00 + city tax 2.88 x 2 x 2 = 251.52
    assert offer["total_price"] == {"amount": "251.52", "currency": "EUR"}
    assert offer["nightly_prices"][0]["price"] == {"amount": "120.00", "currency": "EUR"}
    assert offer["price_breakdown"]["taxes"][1]["amount"] == {"amount": "11.52", "currency": "EUR"}
    assert offer["_links"]["book"]["href"] == "/api/v2/bookings"
    assert offer["_links"]["hotel"]["href"] == f"/api/v2/hotels/{kind['hotel']}"

    # a v1-shaped booking body is refused, naming the fields, as problem details
    one_room = {"room_type": kind["_id"], "check_in": str(start), "check_out": str(start.plus(2))}
    refused = guest.post(V2 + "bookings", one_room)
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json["issues"] == {"room_type": "give it inside each of rooms[] instead"}
    assert refused.json["instance"] == "/api/v2/bookings"

    body = {
        "check_in": str(start),
        "check_out": str(start.plus(2)),
        "rooms": [{"room_type": kind["_id"], "adults": 2}],
    }
    made = guest.post(V2 + "bookings", body)
    assert made.status_code == 201, made.json
    booking = guest.get(V2 + f"bookings/{made.json['_id']}").json
    assert "room_type" not in booking and "rate_plan" not in booking
    assert booking["rooms"][0]["room_type"] == kind["_id"]
    assert booking["total_price"] == {"amount": "251.52", "currency": "EUR"}
    # every link of the booking is an absolute path, and followable as it stands
    hrefs = list(_hrefs(booking["_links"]))
    assert hrefs and all(href.startswith("/api/v2/") for href, _method in hrefs), hrefs
    for href, method in hrefs:
        if method == "GET":
            assert guest.get(href).status_code == 200, href
    followed = guest.get(booking["_links"]["self"]["href"])
    assert followed.status_code == 200 and followed.headers["API-Version"] == "2"

    paid = guest.post(
        V2 + "payments", {"booking": booking["_id"], "payment_method": "pm_card_visa"}
    )
    assert paid.status_code == 201, paid.json
    assert paid.json["amount"] == {"amount": "251.52", "currency": "EUR"}

    # a change in version 2: a night shorter, repriced (120.00 + 2.88 x 2 = 125.76)
    current = guest.get(V2 + f"bookings/{booking['_id']}")
    changed = guest.post(
        V2 + f"bookings/{booking['_id']}/change",
        {"check_out": str(start.plus(1))},
        headers={"If-Match": current.json["_etag"]},
    )
    assert changed.status_code == 200, changed.json
    after = guest.get(V2 + f"bookings/{booking['_id']}").json
    assert after["total_price"] == {"amount": "125.76", "currency": "EUR"}

    cancelled = guest.patch(
        V2 + f"bookings/{booking['_id']}", {"status": "cancelled"}, etag=after["_etag"]
    )
    assert cancelled.status_code == 200, cancelled.json
    final = guest.get(V2 + f"bookings/{booking['_id']}").json
    assert final["status"] == "cancelled"
    assert final["refund_amount"] == {"amount": "125.76", "currency": "EUR"}
    missing = guest.get(V2 + "bookings/6740f0c2a1b2c3d4e5f60718")
    assert missing.status_code == 404 and missing.json["title"] == "Not Found"
    assert missing.json["status"] == 404 and missing.json["request_id"]


def test_money_objects_in_requests_must_be_in_the_hotels_currency(admin, priced):
    kind, start = priced
    night = {"from": str(start), "to": str(start.plus(1)), "allotment": 2}
    dollars = admin.put(
        V2 + f"room-types/{kind['_id']}/inventory",
        {**night, "price": {"amount": "99.00", "currency": "USD"}},
    )
    assert dollars.status_code == 422
    assert dollars.json["issues"] == {"price": "is sent in USD, but this hotel prices in EUR"}
    euros = admin.put(
        V2 + f"room-types/{kind['_id']}/inventory",
        {**night, "price": {"amount": "99.00", "currency": "EUR"}},
    )
    assert euros.status_code == 200, euros.json
    row = admin.get(
        V2 + "inventory",
        query_string={"where": f'{{"room_type": "{kind["_id"]}", "date": "{start}"}}'},
    ).json["_items"][0]
    assert row["price"] == {"amount": "99.00", "currency": "EUR"}


def test_each_version_has_its_own_openapi_document(client):
    one = client.get("openapi.json").json
    two = client.get(V2 + "openapi.json").json
    assert all(path.startswith("/api/v1") or not path.startswith("/api") for path in one["paths"])
    assert "/api/v2/bookings" in two["paths"] and "/api/v1/bookings" not in two["paths"]
    offer = two["paths"]["/api/v2/availability"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["properties"]["_items"]["items"]
    assert offer["properties"]["total_price"] == {"$ref": "#/components/schemas/Money"}
    assert two["components"]["schemas"]["Money"]["required"] == ["amount", "currency"]
    refused = two["paths"]["/api/v2/bookings"]["post"]["responses"]["422"]["content"]
    assert refused == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert "room_type" not in two["components"]["schemas"]["Bookings"]["properties"]
    assert "room_type" in one["components"]["schemas"]["Bookings"]["properties"]
    assert "problem details" in two["info"]["description"]
    assert '"_status": "ERR"' not in two["info"]["description"]
    assert (two["info"]["version"], one["info"]["version"]) == ("2", one["info"]["version"])
    page = client.get(V2 + "docs")
    assert page.status_code == 200 and 'url: "openapi.json"' in page.text  # v2's, relative


def test_operators_see_who_still_calls_version_1(client):
    before = {
        v: metrics.VERSIONS.labels(v)._value.get()
        for v in ("1", "2")  # noqa: SLF001
    }
    client.get("hotels")
    client.get(V2 + "hotels")
    client.get(V2 + "hotels")
    after = {v: metrics.VERSIONS.labels(v)._value.get() for v in ("1", "2")}  # noqa: SLF001
    assert (after["1"] - before["1"], after["2"] - before["2"]) == (1, 2)


def test_every_money_field_of_the_domain_is_declared_money():
    """A new money field in the domain is an object in version 2 only if declared."""
    found = set()

    def walk(resource, schema):
        for name, field in schema.items():
            if not isinstance(field, dict):
                continue
            if field.get("type") == "money" and (resource, name) not in declared.NOT_MONEY:
                found.add(name)
            inner = field.get("schema")
            if isinstance(inner, dict) and inner.get("type") == "dict":
                inner = inner.get("schema")
            if isinstance(inner, dict):
                walk(resource, inner)

    for resource, settings in build_domain().items():
        walk(resource, settings["schema"])
    assert found <= declared.MONEY_FIELDS, found - declared.MONEY_FIELDS


def test_every_link_of_the_version_2_front_door_is_followable(admin, priced):
    """Each href of the front door and of each list it leads to, resolved as RFC 3986
    says against the document's URL (an absolute path: as it is), answers 200."""
    home = admin.get(V2)
    assert home.status_code == 200
    seen = set()
    for href, method in _hrefs(home.json["_links"]):
        if method != "GET" or "{" in href or href in seen:
            continue  # a template is filled in first (the search form)
        seen.add(href)
        # an absolute path; the API's own under version 2 (the admin, /health are outside)
        assert href.startswith("/") and not href.startswith("/api/v1"), href
        followed = admin.get(href)
        expected = 302 if href == "/admin/" else 200  # the admin: to its sign-in page
        assert followed.status_code == expected, (href, followed.status_code)
        if "json" in followed.mimetype:
            for inner, inner_method in _hrefs((followed.json or {}).get("_links", {})):
                if inner_method == "GET" and "{" not in inner:
                    assert inner.startswith("/") and not inner.startswith("/api/v1"), inner
    assert len(seen) >= 5, seen


def test_a_head_request_in_version_2_keeps_its_headers(client, priced):
    kind, _start = priced
    head = client.flask.head(V2 + f"room-types/{kind['_id']}")
    assert head.status_code == 200 and head.headers["API-Version"] == "2"
    assert head.data == b""


def test_hrefs_are_rewritten_in_the_text_where_they_are_keys_only():
    text = (
        b'{"_links": {"self": {"href": "hotels/1"}, "parent": {"href":"/"},'
        b' "home": {"href": "/api/v1/"}, "admin": {"href": "/admin/"},'
        b' "out": {"href": "https://example.com/x"}},'
        b' "description": "a quote: \\"href\\": \\"hotels/2\\" stays"}'
    )
    done = declared.hrefs_up(text, {"root": "/api/v2"})
    links = json.loads(done)["_links"]
    assert [links[k]["href"] for k in ("self", "parent", "home", "admin", "out")] == [
        "/api/v2/hotels/1",
        "/api/v2/",
        "/api/v2/",
        "/admin/",
        "https://example.com/x",
    ]
    assert json.loads(done)["description"] == 'a quote: "href": "hotels/2" stays'


def test_money_objects_in_one_body_must_agree(admin, make_hotel):
    hotel = make_hotel()
    mixed = admin.patch_item(
        V2 + f"hotels/{hotel['_id']}",
        {
            "taxes": {
                "city_tax": {"per_person_per_night": {"amount": "2.00", "currency": "EUR"}},
                "fees": [
                    {"code": "x", "name": "X", "amount": {"amount": "1.00", "currency": "USD"}}
                ],
            }
        },
    )
    assert mixed.status_code == 422
    assert mixed.json["detail"] == "amounts sent in two currencies (EUR and USD)"
    assert mixed.json["issues"] == {"taxes.fees.0.amount": "must be in EUR, as the others"}
    # a body that names its currency: every amount in it is in that currency
    body = {
        "name": "Dollar fees",
        "address": {"city": "Paris", "country": "FR"},
        "currency": "EUR",
        "taxes": {
            "fees": [{"code": "x", "name": "X", "amount": {"amount": "1", "currency": "usd"}}]
        },
    }
    other = admin.post(V2 + "hotels", body)
    assert other.status_code == 422
    assert (
        other.json["detail"]
        == "taxes.fees.0.amount is in USD, but this document's currency is EUR"
    )
    assert other.json["issues"] == {"taxes.fees.0.amount": "must be in EUR"}


def test_a_money_object_of_another_shape_is_a_field_error_not_a_500(admin, make_hotel):
    hotel = make_hotel()
    odd = admin.patch_item(
        V2 + f"hotels/{hotel['_id']}",
        {"taxes": {"city_tax": {"per_person_per_night": {"amount": "2.00", "currency": 7}}}},
    )
    assert odd.status_code == 422
    assert odd.headers["Content-Type"] == "application/problem+json"
    assert "taxes" in odd.json["issues"]


def test_a_version_2_body_over_the_limit_is_refused_unread(app, admin):
    limit = app.config["MAX_CONTENT_LENGTH"]
    big = admin.post(V2 + "hotels", {"name": "x" * (limit + 10)})
    assert big.status_code == 413
    assert big.json["status"] == 413 and f"exceeds {limit} bytes" in big.json["detail"]


def test_a_version_2_body_the_app_would_refuse_is_refused_the_same_way(admin):
    """Version 2's bodies are read with the app's own checks: too deep, not UTF-8 or not
    JSON, they reach the app as sent and get its 400, as problem details."""
    headers = {**admin._headers(None), "Content-Type": "application/json"}
    for body, said in (
        ('{"name": ' + "[" * 5000 + "]" * 5000 + "}", "nested deeper than 32 levels"),
        (b'{"name": "\xff"}', "not valid UTF-8"),
        ('{"name": ', "not valid JSON"),
    ):
        refused = admin.flask.post(V2 + "hotels", data=body, headers=headers)
        assert refused.status_code == 400, refused.get_data(as_text=True)
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert said in refused.json["detail"]
