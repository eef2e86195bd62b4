"""KPIs kept ready (reporting/kpis.py): every write records what it touched in its own
transaction, the worker recomputes it, and the kept rows equal a recomputation from
scratch after any mix of bookings, payments, cancellations, expiries and inventory edits."""

import random
from datetime import timedelta
from decimal import Decimal

from bson import Decimal128, ObjectId

from booking import holds
from plumbing.values import utcnow
from reporting import changes, kpis
from tests.conftest import set_night
from tests.factories import book, pay
from tests.recording import collection_of, filters, recorded
from tests.support import _stages


def _rollup_from_hotels(db):
    """The city rows as sums of the kept hotel rows, computed here independently."""
    sums = {}
    for row in db.occupancy_daily.find({}):
        key = (row["city"], row["date"], row["currency"])
        total = sums.setdefault(key, [0, 0, Decimal(0), 0])
        total[0] += row["rooms_available"]
        total[1] += row["rooms_sold"]
        total[2] += row["room_revenue"].to_decimal()
        total[3] += 1
    return sums


def test_random_bookings_cancellations_and_expiries_match_a_recomputation(
    db, stock, make_room_type, make_hotel, login, admin
):
    rng = random.Random(7)
    paris, start = stock(nights=12, allotment=3, price="100.00")
    suite, _ = stock(nights=12, allotment=2, price="180.00", start=start, name="Suite")
    tokyo_hotel = make_hotel(
        name="Tokyo Inn",
        address={"line1": "1-1 Ginza", "city": "Tokyo", "country": "JP"},
        currency="JPY",
        timezone="Asia/Tokyo",
    )
    tokyo, _ = stock(
        nights=12, allotment=2, price="12345", start=start, room_type=make_room_type(tokyo_hotel)
    )
    guests = [login("guest") for _ in range(4)]
    live = []
    for step in range(36):
        guest = rng.choice(guests)
        action = rng.random()
        if action < 0.55 or not live:
            room_type = rng.choice([paris, suite, tokyo])
            response = book(guest, room_type, start.plus(rng.randrange(10)), rng.randint(1, 2))
            if response.status_code != 201:
                continue
            booking = response.json
            if rng.random() < 0.7:
                assert pay(guest, booking).status_code == 201
            live.append((guest, booking))
        elif action < 0.75:
            owner, booking = live.pop(rng.randrange(len(live)))
            current = owner.get(f"bookings/{booking['_id']}").json
            if current["status"] in ("pending_payment", "confirmed"):
                cancelled = owner.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
                assert cancelled.status_code == 200, cancelled.json
                assert cancelled.json["status"] == "cancelled"
        elif action < 0.85:
            db.bookings.update_many(
                {"status": "pending_payment"},
                {"$set": {"hold_expires_at": utcnow() - timedelta(minutes=1)}},
            )
            holds.expire_due(db.client, db)
        else:
            room_type = rng.choice([paris, suite])
            night = start.plus(rng.randrange(12))
            response = set_night(admin, room_type, night, rng.randint(2, 4))
            assert response.status_code in (200, 409), response.json
        if step % 9 == 8:  # the worker runs now and then, not after every change
            kpis.drain(db)
    assert changes.CHANGES in db.list_collection_names()
    kpis.drain(db)
    assert db.kpi_changes.count_documents({}) == 0
    assert kpis.drift(db) == []
    rows = list(db.occupancy_daily.find({}))
    assert sum(r["rooms_sold"] for r in rows) > 0
    assert {r["currency"] for r in rows} == {"EUR", "JPY"}
    jpy = next(r for r in rows if r["currency"] == "JPY" and r["rooms_sold"])
    assert jpy["adr"].to_decimal() == jpy["adr"].to_decimal().quantize(Decimal(1))
    city_rows = {(r["city"], r["date"], r["currency"]): r for r in db.occupancy_city_daily.find()}
    expected = _rollup_from_hotels(db)
    assert set(city_rows) == set(expected)
    for key, (available, sold, revenue, hotels) in expected.items():
        row = city_rows[key]
        assert (row["rooms_available"], row["rooms_sold"], row["hotels"]) == (
            available,
            sold,
            hotels,
        )
        assert row["room_revenue"].to_decimal() == revenue


def test_the_change_record_commits_with_the_payment(db, stock, guest):
    room_type, start = stock(nights=2, allotment=2, price="90.00")
    booking = book(guest, room_type, start).json
    kpis.drain(db)
    assert pay(guest, booking).status_code == 201
    record = db.kpi_changes.find_one({})
    assert record["hotel"] == ObjectId(booking["hotel"])
    assert (record["from"], record["to"]) == (start, start.plus(2))
    kpis.drain(db)
    row = db.occupancy_daily.find_one({"hotel": ObjectId(booking["hotel"]), "date": start})
    assert (row["rooms_sold"], row["rooms_available"], row["occupancy"]) == (1, 2, 0.5)
    assert row["adr"] == Decimal128("90.00") and row["revpar"] == Decimal128("45.00")
    assert row["as_of"] <= utcnow()


def test_a_cancelled_confirmed_booking_leaves_the_kpis(db, stock, guest):
    room_type, start = stock(nights=2, allotment=2)
    booking = book(guest, room_type, start).json
    pay(guest, booking)
    kpis.drain(db)
    cancelled = guest.patch_item(f"bookings/{booking['_id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["status"] == "cancelled"
    kpis.drain(db)
    row = db.occupancy_daily.find_one({"date": start})
    assert (row["rooms_sold"], row["room_revenue"], row["adr"]) == (0, Decimal128("0"), None)


def test_one_refresher_at_a_time(db, stock):
    room_type, start = stock(nights=1)
    assert kpis.take_lease(db, owner="a")
    assert not kpis.take_lease(db, owner="b")
    assert kpis.refresh(db, owner="b") == 0 and db.kpi_changes.count_documents({}) > 0
    lapsed = utcnow() - timedelta(seconds=1)  # (`now` itself may be the same millisecond)
    db.worker_leases.update_one({"_id": "kpis"}, {"$set": {"until": lapsed}})
    assert kpis.refresh(db, owner="b") > 0  # a lapsed lease is taken over


def test_a_hotel_that_moves_takes_its_rows_to_the_new_city(db, stock, admin):
    room_type, start = stock(nights=2)
    kpis.drain(db)
    hotel = admin.get(f"hotels/{room_type['hotel']}").json
    moved = admin.patch_item(
        f"hotels/{hotel['_id']}",
        {"address": {"line1": "1 Unter den Linden", "city": "Berlin", "country": "DE"}},
    )
    assert moved.status_code == 200, moved.json
    kpis.drain(db)
    assert {r["city"] for r in db.occupancy_daily.find()} == {"Berlin"}
    assert {r["city"] for r in db.occupancy_city_daily.find()} == {"Berlin"}


def test_provisioning_replaces_the_old_view(db, stock):
    stock(nights=2)
    db.drop_collection("occupancy_daily")
    db.command("create", "occupancy_daily", viewOn="inventory", pipeline=[])
    db.kpi_changes.delete_many({})
    kpis.provision(db)
    assert db.kpi_changes.find_one({})["hotel"] == changes.EVERYTHING
    kpis.drain(db)
    assert db.occupancy_daily.count_documents({}) == 2
    assert kpis.drift(db) == []


def test_reconcile_reports_and_fixes_kpis_a_script_moved(app, db, stock):
    room_type, start = stock(nights=2, allotment=2)
    kpis.drain(db)
    # A script raises the allotment straight in MongoDB and records nothing.
    db.inventory.update_many({}, {"$inc": {"allotment": 1}})
    runner = app.test_cli_runner()
    found = runner.invoke(args=["reconcile"])
    assert found.exit_code == 1
    assert "2 KPI values out of step" in found.output  # rooms_available, two nights
    assert "KPI rooms_available of hotel" in found.output
    fixed = runner.invoke(args=["reconcile", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert kpis.drift(db) == []
    assert db.occupancy_daily.find_one({"date": start})["rooms_available"] == 3


def test_the_worker_reads_and_writes_through_indexes(db, stock, guest):
    """Every filter a refresh sends to a source or KPI collection is planned on an index
    (its own small to-do and lease collections aside)."""
    room_type, start = stock(nights=3, allotment=2)
    booking = book(guest, room_type, start).json
    pay(guest, booking)
    with recorded() as commands:
        assert kpis.drain(db) > 0
    checked = set()
    for name, command in commands:
        collection = collection_of(name, command)
        if collection in (None, changes.CHANGES, kpis.LEASES):
            continue
        for query in filters(name, command):
            plan = db.command("explain", {"find": collection, "filter": query})
            stages = _stages(plan)
            assert "IXSCAN" in stages and "COLLSCAN" not in stages, (name, collection, query)
            checked.add(collection)
    assert checked == {"hotels", "room_types", "inventory", "bookings", *kpis.INDEXES}
