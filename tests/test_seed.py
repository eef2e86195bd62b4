"""The demo catalogue is believable: 200+ hotels in 20+ real cities, priced inventory."""

from decimal import Decimal

import pytest

from demo import seed
from identity import accounts
from plumbing.values import Day


@pytest.mark.fresh_schema  # thousands of rows: dropping its own database beats emptying
def test_seed_a_week_of_the_catalogue(db):
    start = Day(2027, 6, 7)  # a Monday in summer
    plan = seed.seed_demo(db, nights=7, start=start)
    assert plan["hotels"] >= 200 and db.hotels.count_documents({}) == plan["hotels"]
    assert len(db.hotels.distinct("address.city")) >= 20
    per_hotel = list(db.room_types.aggregate([{"$group": {"_id": "$hotel", "n": {"$sum": 1}}}]))
    assert {r["n"] for r in per_hotel} <= {2, 3, 4}
    assert db.inventory.count_documents({}) == plan["room_types"] * 7
    paris = db.hotels.find_one({"address.city": "Paris"})
    assert paris["location"]["type"] == "Point" and paris["currency"] == "EUR"
    tokyo = db.hotels.find_one({"address.city": "Tokyo"})
    assert tokyo["currency"] == "JPY" and tokyo["timezone"] == "Asia/Tokyo"
    tokyo_price = db.inventory.find_one({"hotel": tokyo["_id"]})["price"].to_decimal()
    assert tokyo_price == tokyo_price.to_integral_value() and tokyo_price % 100 == 0

    room_type = db.room_types.find_one({"hotel": paris["_id"]})
    week = {
        Day.of(r["date"]).weekday(): r["price"].to_decimal()
        for r in db.inventory.find({"room_type": room_type["_id"]})
    }
    assert week[4] > week[0]  # Friday nights cost more than Monday nights
    assert week[4] == week[5]
    assert all(isinstance(p, Decimal) for p in week.values())


def test_seed_leaves_an_existing_catalogue_alone_but_makes_demo_accounts(db, make_hotel):
    make_hotel()
    plan = seed.seed_demo(db, nights=1)
    assert plan["skipped"] is True
    assert db.hotels.count_documents({}) == 1
    email, password, _ = seed.DEMO_ACCOUNTS["guest"]
    assert accounts.authenticate(db, email, password)["role"] == "guest"


def test_seasonal_prices():
    base = Decimal("100")
    assert seed.nightly_price(base, Day(2027, 7, 14), "1") == Decimal("125")  # Wednesday
    assert seed.nightly_price(base, Day(2027, 2, 3), "1") == Decimal("90")
    assert seed.nightly_price(base, Day(2027, 2, 5), "1") == Decimal("108")  # Friday
