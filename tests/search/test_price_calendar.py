"""The price calendar: the lowest total for each check-in night of a span, so a guest
sees which dates are cheapest; every day equal to the cheapest offer the search gives
for that stay; cached and invalidated like a search."""

from tests.factories import book


def calendar(client, start, days=6, nights=2, **params):
    query = {"from": start.isoformat(), "to": start.plus(days).isoformat(), "nights": nights}
    return client.get(
        "availability/calendar?" + "&".join(f"{k}={v}" for k, v in {**query, **params}.items())
    )


def test_each_day_is_the_cheapest_offer_of_that_stay(client, admin, stock, guest, make_room_type):
    cheap, start = stock(nights=8, allotment=1, price="100.00")
    dear, _ = stock(
        nights=8, allotment=2, price="150.00", start=start, room_type=make_room_type(name="Suite")
    )
    # The cheap room sells out on the 3rd night and is dearer on the 5th.
    assert book(guest, cheap, start.plus(2), nights=1).status_code == 201
    admin.put(
        f"room-types/{cheap['_id']}/inventory",
        {
            "from": start.plus(4).isoformat(),
            "to": start.plus(5).isoformat(),
            "allotment": 1,
            "price": "400.00",
        },
    )
    response = calendar(client, start, city="Paris")
    assert response.status_code == 200, response.json
    days = response.json["_items"]
    assert [d["check_in"] for d in days] == [start.plus(i).isoformat() for i in range(6)]
    lowest = [d["lowest"][0]["total_price"] if d["lowest"] else None for d in days]
    # 2-night stays: nights (0,1) cheap 200; (1,2) cheap is sold out on 2 -> suite 300;
    # (2,3) suite 300; (3,4) cheap 100+400=500 vs suite 300; (4,5) suite 300; (5,6) cheap 200.
    assert lowest == ["200.00", "300.00", "300.00", "300.00", "300.00", "200.00"]
    for day in days:  # each equals the search's cheapest offer for that stay
        offers = client.get(day["_links"]["search"]["href"]).json["_items"]
        cheapest = min(offers, key=lambda o: float(o["total_price"]))
        assert cheapest["total_price"] == day["lowest"][0]["total_price"]
        assert cheapest["room_type"]["_id"] == day["lowest"][0]["room_type"]["_id"]


def test_unsellable_dates_are_empty_and_a_hotel_scope_works(client, stock):
    room_type, start = stock(nights=3, allotment=1)
    days = calendar(client, start, days=4, nights=2, hotel=room_type["hotel"]).json["_items"]
    assert [bool(d["lowest"]) for d in days] == [True, True, False, False]
    assert days[0]["lowest"][0]["hotel"]["_id"] == room_type["hotel"]


def test_cached_like_a_search_and_a_booking_refreshes_it(client, stock, guest):
    room_type, start = stock(nights=4, allotment=1)
    assert calendar(client, start, days=2, city="Paris").headers["X-Search-Cache"] == "miss"
    assert calendar(client, start, days=2, city="Paris").headers["X-Search-Cache"] == "hit"
    assert book(guest, room_type, start, nights=1).status_code == 201
    after = calendar(client, start, days=2, city="Paris")
    assert after.headers["X-Search-Cache"] == "miss"
    assert after.json["_items"][0]["lowest"] == []


def test_refusals_name_the_parameter(client, stock):
    _room_type, start = stock(nights=2)
    too_long = calendar(client, start, days=90, city="Paris")
    assert too_long.status_code == 400 and "to" in too_long.json["_issues"]
    bad = client.get(f"availability/calendar?from={start}&to=soon&city=Paris")
    assert bad.status_code == 400 and "to" in bad.json["_issues"]
    nights = calendar(client, start, nights=0, city="Paris")
    assert nights.status_code == 400 and "nights" in nights.json["_issues"]
    unknown = calendar(client, start, city="Paris", colour="red")
    assert unknown.status_code == 400 and unknown.json["_issues"]["colour"] == "unknown parameter"
