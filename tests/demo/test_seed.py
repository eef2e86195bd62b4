"""The demo is believable: hotels in real cities, priced inventory, and a history of
bookings, payments, refunds and reviews whose KPIs and analyst queries show real numbers."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from bson import ObjectId

from booking import reconcile
from catalogue import rate_plans
from demo import seed
from identity import accounts
from plumbing import domain_changes
from plumbing.values import Day
from reporting import kpis
from tests.support import QUERIES, require_region, run


@pytest.mark.fresh_schema  # thousands of rows: dropping its own database beats emptying
def test_seed_a_week_of_the_catalogue(db):
    start = Day(2027, 6, 7)  # a Monday in summer
    plan = seed.seed_demo(db, nights=7, start=start)
    assert plan["hotels"] == 32 and db.hotels.count_documents({}) == plan["hotels"]
    assert len(db.hotels.distinct("address.city")) == 8
    per_hotel = list(db.room_types.aggregate([{"$group": {"_id": "$hotel", "n": {"$sum": 1}}}]))
    assert {r["n"] for r in per_hotel} <= {2, 3}
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
    # Every plan has a reason to exist: the non-refundable rate is cheaper than a
    # flexible one that does refund; pay-at-the-hotel sells at the manager's hotels.
    for hotel in db.hotels.find():
        for room_type in db.room_types.find({"hotel": hotel["_id"]}):
            terms = {p["code"]: rate_plans.policy(p, hotel) for p in room_type["rate_plans"]}
            assert terms["flexible"]["refundable"], hotel["cancellation_policy"]
            assert not terms["non-refundable"]["refundable"]
            assert ("pay-at-hotel" in terms) == bool(hotel["managers"])


def test_the_large_catalogue_is_what_the_search_benchmark_measures():
    hotels, room_types, pricing = seed._plan({"manager": None}, "large")
    assert len(hotels) == 216 and len({h["address"]["city"] for h in hotels}) == 24
    assert len(room_types) == len(pricing) > 600


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


@pytest.mark.fresh_schema
def test_a_seed_stopped_midway_is_finished_by_the_next_start(db, monkeypatch):
    """A restart during the demo seed used to leave the inventory partial for good."""
    start = Day.of(datetime(2030, 1, 1))
    real = seed.inventory_rows
    calls = {"n": 0}

    def dies_on_the_third_batch(plan, night, booked):
        calls["n"] += 1
        if calls["n"] > 4:  # two batches of 2 nights written, then the process "dies"
            raise KeyboardInterrupt
        return real(plan, night, booked)

    monkeypatch.setattr(seed, "inventory_rows", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        plan = seed.seed_catalogue(
            db, nights=7, start=start, now=datetime(2030, 1, 3), size="small"
        )
        seed.load_year(db, plan, batch_nights=2)
    monkeypatch.setattr(seed, "inventory_rows", real)
    room_types = db.room_types.count_documents({})
    assert 0 < db.inventory.count_documents({}) < room_types * 7

    again = seed.seed_demo(db)  # the next start
    assert again["skipped"] is False and again["resumed_at"] == 4
    assert "resuming at night 4" in seed.describe(again)
    assert db.hotels.count_documents({}) == again["hotels"] == 8
    assert db.room_types.count_documents({}) == room_types
    assert db.inventory.count_documents({}) == room_types * 7  # every night, none twice
    assert db.inventory.find_one(sort=[("date", -1)])["date"] == start.plus(6)
    assert db.bookings.count_documents({}) == again["bookings"] > 0  # each written once
    assert reconcile.find_drift(db) == []
    assert seed.seed_demo(db)["skipped"] is True  # complete: later starts leave it alone


@pytest.mark.fresh_schema
def test_a_seed_stopped_while_writing_the_catalogue_finishes_it(db, monkeypatch):
    real = db.room_types.__class__.insert_many
    monkeypatch.setattr(
        db.room_types.__class__,
        "insert_many",
        lambda self, docs, **kw: (
            (_ for _ in ()).throw(KeyboardInterrupt)
            if self.name == "room_types"
            else real(self, docs, **kw)
        ),
    )
    with pytest.raises(KeyboardInterrupt):
        seed.seed_catalogue(db, nights=2, size="small")
    monkeypatch.undo()
    assert db.hotels.count_documents({}) > 0 and db.room_types.count_documents({}) == 0
    plan = seed.seed_demo(db, nights=2)
    assert plan["skipped"] is False
    assert db.room_types.count_documents({}) == plan["room_types"]
    assert db.inventory.count_documents({}) == plan["room_types"] * 2


@pytest.mark.fresh_schema
def test_the_seed_follows_the_domain_new_defaults_included(db, monkeypatch):
    """A new required field with a default, applied as docs/domain-admins.md says: the
    seed gives its documents the default, as Eve does for a POST."""
    require_region(monkeypatch, default="EU")
    domain_changes.apply(db, log=lambda _: None)
    plan = seed.seed_demo(db, nights=1, size="small")
    assert plan["hotels"] == db.hotels.count_documents({"region": "EU"}) > 0
    assert db.inventory.estimated_document_count() == plan["inventory_rows"]


@pytest.mark.fresh_schema
def test_a_required_field_without_default_stops_the_seed_with_a_message(db, monkeypatch):
    require_region(monkeypatch)
    domain_changes.apply(db, log=lambda _: None)
    with pytest.raises(seed.SeedRefused, match=r"requires hotels\.region, which has no default"):
        seed.seed_demo(db, nights=1)
    assert db.hotels.count_documents({}) == 0


@pytest.mark.fresh_schema
def test_the_demo_history_shows_in_every_figure(db):
    """Five weeks told as of 10 February 2027: stays behind, bookings ahead, cancellations
    refunded by policy, expired holds, reviews; nothing for reconcile to fix; KPIs equal
    a recomputation; every query of docs/analysts.md answers with real numbers."""
    now = datetime(2027, 2, 10, 9, 30)
    plan = seed.seed_demo(db, nights=35, start=Day(2027, 1, 20), now=now, size="small")
    assert plan["bookings"] == db.bookings.count_documents({}) > 100
    statuses = {"confirmed", "checked_in", "checked_out", "no_show", "cancelled", "expired"}
    assert set(db.bookings.distinct("status")) == statuses
    outcomes = set(db.payments.distinct("status"))
    assert {"succeeded", "failed"} <= outcomes and {"refunded", "partially_refunded"} & outcomes
    # Past stays ended at the desk; none is left confirmed; the coming ones are.
    ended = {"check_out": {"$lte": now - timedelta(days=1)}}
    assert db.bookings.count_documents({"status": "confirmed", **ended}) == 0
    stayed = db.bookings.count_documents({"status": "checked_out", **ended})
    missed = db.bookings.count_documents({"status": "no_show"})
    ahead = db.bookings.count_documents({"status": "confirmed", "check_in": {"$gt": now}})
    assert stayed > 0 and ahead > 0 and 0 < missed < stayed / 10
    assert db.bookings.count_documents({"status": "cancelled", "refund_amount": {"$exists": 1}})
    guest = db.users.find_one({"email": seed.DEMO_ACCOUNTS["guest"][0]})
    assert db.bookings.count_documents({"guest": guest["_id"]}) > 0
    rated = db.hotels.find_one({"rating.count": {"$gt": 0}})
    assert (
        rated and db.reviews.count_documents({"hotel": rated["_id"]}) == rated["rating"]["count"]
    )
    card = db.search_rooms.find_one({"hotel": rated["_id"]})
    assert card["rating"]["average"] == rated["rating"]["average"]

    assert reconcile.find_drift(db) == []
    assert kpis.drift(db) == []
    past = list(db.occupancy_city_daily.find({"date": {"$lt": Day(2027, 2, 9)}}))
    weekend = [r["occupancy"] for r in past if r["date"].weekday() in (4, 5)]
    weekday = [r["occupancy"] for r in past if r["date"].weekday() in (0, 1, 2)]
    assert sum(weekend) / len(weekend) > sum(weekday) / len(weekday) > 0.3

    for name in QUERIES:
        rows = run(db, name)
        assert rows, name
        numbers = [v for row in rows for v in row.values() if isinstance(v, int | float)]
        numbers += [v.to_decimal() for row in rows for v in row.values() if hasattr(v, "bid")]
        assert any(numbers), (name, rows[:2])


def _history_at(now):
    """The small demo's history told by a seed started at `now` (no database)."""
    ids = {role: ObjectId() for role in seed.DEMO_ACCOUNTS}
    hotels, room_types, pricing = seed._plan(ids, "small")
    plan = {
        "from": Day(2027, 1, 20),
        "nights": 35,
        "now": now,
        "catalogue": {"hotels": hotels, "room_types": room_types},
        "guests": [ids["guest"]] + [ObjectId() for _ in range(seed.GUESTS)],
        "pricing": pricing,
    }
    bookings, payments, reviews, _booked = seed.history(plan)
    return {
        "counts": (len(bookings), len(payments), len(reviews)),
        "codes": [b["confirmation_code"] for b in bookings],
        "statuses": [(b["status"], str(b.get("refund_amount"))) for b in bookings],
    }


def test_the_demo_is_the_same_whatever_the_time_of_day_it_is_seeded():
    early, late = (
        _history_at(datetime(2027, 2, 10, 0, 5)),
        _history_at(datetime(2027, 2, 10, 23, 55)),
    )
    assert early["counts"][0] > 100
    assert early == late
