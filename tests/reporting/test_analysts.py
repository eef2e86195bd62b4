"""docs/analysts.md is true: its queries give known answers, in pymongo and in mongosh."""

import csv
import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from bson import Decimal128, ObjectId, json_util

from plumbing import provisioning
from reporting import changes, flat, kpis
from tests.support import DOC, QUERIES, run

ROOT = Path(__file__).resolve().parents[2]
D = datetime


def money(text):
    return Decimal128(text)


@pytest.fixture
def stays(db):
    """One Paris hotel, two rooms a night through Jan-Feb 2027, five bookings."""
    hotel, room_type = ObjectId(), ObjectId()
    now = D(2026, 11, 1)
    meta = {"_created": now, "_updated": now, "_etag": "e"}
    db.hotels.insert_one(
        {
            "_id": hotel,
            "name": "Analyst Inn",
            "address": {"city": "Paris", "country": "FR"},
            "currency": "EUR",
            **meta,
        }
    )
    db.room_types.insert_one(
        {
            "_id": room_type,
            "hotel": hotel,
            "name": "Double",
            "max_adults": 2,
            "total_rooms": 2,
            **meta,
        }
    )
    nights = [D(2027, 1, 1) + (D(2027, 1, 2) - D(2027, 1, 1)) * i for i in range(59)]
    db.inventory.insert_many(
        [
            {
                "room_type": room_type,
                "hotel": hotel,
                "city": "Paris",
                "country": "FR",
                "currency": "EUR",
                "date": night,
                "allotment": 2,
                "booked": 0,
                "price": money("100.00"),
                "closed": False,
                "min_stay": 1,
                **meta,
            }
            for night in nights
        ]
    )

    def booking(status, check_in, prices, created):
        stay = [D(2027, check_in[0], check_in[1] + i) for i in range(len(prices))]
        total = sum((Decimal(p) for p in prices), Decimal(0))
        return {
            "room_type": room_type,
            "hotel": hotel,
            "guest": ObjectId(),
            "status": status,
            "check_in": stay[0],
            "check_out": D(2027, check_in[0], check_in[1] + len(prices)),
            "nights": len(prices),
            "adults": 1,
            "children": 0,
            "currency": "EUR",
            "nightly_prices": [
                {"date": d, "price": money(p)} for d, p in zip(stay, prices, strict=True)
            ],
            "total_price": money(str(total)),
            "confirmation_code": f"C{len(prices)}{status[:3]}",
            "_created": created,
            "_updated": created,
            "_etag": "e",
        }

    db.bookings.insert_many(
        [
            booking("confirmed", (1, 10), ["100.00", "100.00", "120.00"], D(2026, 12, 11)),
            booking("confirmed", (1, 20), ["150.00", "150.00"], D(2027, 1, 10)),
            booking("cancelled", (1, 15), ["100.00"], D(2027, 1, 1)),
            booking("confirmed", (2, 5), ["90.00"], D(2027, 1, 26)),
            booking("expired", (2, 10), ["100.00", "100.00"], D(2027, 1, 30)),
        ]
    )
    # Written straight to MongoDB, as a migration would: say so, and let the worker run.
    changes.record(db, changes.EVERYTHING)
    kpis.drain(db)
    flat.drain(db)  # bookings_flat follows the change stream (the worker's pass)
    return {"hotel": hotel, "room_type": room_type}


def test_the_document_has_the_promised_queries():
    assert set(QUERIES) == {
        "kpis-by-hotel-month",
        "lead-time",
        "average-length-of-stay",
        "cancellation-rate-by-arrival-month",
        "revenue-by-city",
    }


def test_occupancy_adr_revpar_by_month(db, stays):
    rows = run(db, "kpis-by-hotel-month")
    assert [(r["month"], r["rooms_available"], r["rooms_sold"]) for r in rows] == [
        ("2027-01", 62, 5),
        ("2027-02", 56, 1),
    ]
    january, february = rows
    assert january["room_revenue"] == money("620.00")
    assert january["adr"].to_decimal() == Decimal("124.00")
    assert january["revpar"].to_decimal() == Decimal("10.00")
    assert january["occupancy"] == round(5 / 62, 4)
    assert february["adr"].to_decimal() == Decimal("90.00")
    assert february["revpar"].to_decimal() == Decimal("1.61")  # 90 / 56


def test_lead_time_length_of_stay_cancellations_revenue(db, stays):
    assert run(db, "lead-time") == [{"bookings": 3, "average_lead_days": 16.67}]
    assert run(db, "average-length-of-stay") == [
        {"hotel": stays["hotel"], "bookings": 3, "average_nights": 2.0}
    ]
    assert run(db, "cancellation-rate-by-arrival-month") == [
        {"arrival_month": "2027-01", "bookings": 3, "cancelled": 1, "cancellation_rate": 0.3333},
        {"arrival_month": "2027-02", "bookings": 1, "cancelled": 0, "cancellation_rate": 0.0},
    ]
    assert run(db, "revenue-by-city") == [
        {"city": "Paris", "currency": "EUR", "room_revenue": money("710.00"), "room_nights": 6}
    ]


def test_occupancy_daily_is_the_contracts_shape(db, stays):
    row = db.occupancy_daily.find_one(
        {"hotel": stays["hotel"], "date": D(2027, 1, 11)}, {"_id": 0}
    )
    assert row.pop("as_of") <= datetime.utcnow()
    assert row == {
        "hotel": stays["hotel"],
        "city": "Paris",
        "country": "FR",
        "date": D(2027, 1, 11),
        "rooms_available": 2,
        "rooms_sold": 1,
        "occupancy": 0.5,
        "room_revenue": money("100.00"),
        "adr": money("100.00"),
        "revpar": money("50.00"),
        "currency": "EUR",
    }
    empty = db.occupancy_daily.find_one({"hotel": stays["hotel"], "date": D(2027, 2, 20)})
    assert (empty["rooms_sold"], empty["adr"]) == (0, None)


def test_kpi_ratios_come_rounded_not_with_34_digits(db, stays):
    """One room sold at 100.00 of three: RevPAR 33.33, occupancy 0.3333 (not
    33.33333333333333333333333333333333)."""
    db.inventory.update_one(
        {"hotel": stays["hotel"], "date": D(2027, 1, 11)}, {"$inc": {"allotment": 1}}
    )
    changes.record(db, stays["hotel"], D(2027, 1, 11), D(2027, 1, 12))
    kpis.drain(db)
    day = db.occupancy_daily.find_one({"hotel": stays["hotel"], "date": D(2027, 1, 11)})
    assert (day["rooms_available"], day["rooms_sold"]) == (3, 1)
    assert day["revpar"] == money("33.33") and day["occupancy"] == 0.3333
    rows = list(db.occupancy_daily.find({"hotel": stays["hotel"]}))
    assert rows
    for row in rows:
        for field in ("adr", "revpar"):
            if row[field] is not None:
                assert row[field].to_decimal().as_tuple().exponent >= -2, row
        if row["occupancy"] is not None:
            assert round(row["occupancy"], 4) == row["occupancy"], row


def test_bookings_flat_has_one_row_per_night(db, stays):
    rows = list(db.bookings_flat.find({"status": "confirmed"}).sort("date", 1))
    assert len(rows) == 6
    assert rows[0]["hotel_name"] == "Analyst Inn" and rows[0]["city"] == "Paris"
    assert rows[0]["room_type_name"] == "Double" and rows[0]["lead_time_days"] == 30
    assert rows[0]["price"] == money("100.00") and rows[0]["date"] == D(2027, 1, 10)


def test_users_public_hides_password_hashes(db, guest):
    row = db.users_public.find_one({"email": guest.user["email"]})
    assert row["role"] == "guest" and "password_hash" not in row


def test_every_domain_field_is_documented():
    from domain import build_domain

    for resource, settings in build_domain().items():
        collection = provisioning.collection_name(resource, settings)
        assert f"`{collection}`" in DOC, collection
        for field in settings["schema"]:
            if field != "password":  # write-only, never stored
                assert f"`{field}`" in DOC, (collection, field)


def _mongosh():
    local = ROOT / ".tools" / "node_modules" / ".bin" / "mongosh"
    return str(local) if local.exists() else shutil.which("mongosh")


def test_mongosh_gets_the_same_numbers(db, stays, servers):
    mongosh = _mongosh()
    if mongosh is None:
        if os.environ.get("CI"):
            pytest.fail("mongosh is not installed; .ci/run installs it with npm")
        pytest.skip("mongosh not installed (make test installs it with npm when npm exists)")
    uri = servers["MONGO_URI"].replace("/?", f"/{db.name}?")
    script = (
        "printjson(EJSON.serialize(" + QUERIES["kpis-by-hotel-month"].rstrip(";") + ".toArray()))"
    )
    result = subprocess.run(
        [mongosh, "--quiet", uri, "--eval", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = json_util.loads(json.dumps(eval_js_output(result.stdout)))
    assert [(r["month"], r["rooms_sold"]) for r in rows] == [("2027-01", 5), ("2027-02", 1)]
    assert rows[0]["room_revenue"] == money("620.00")
    assert rows[0]["adr"].to_decimal() == Decimal("124.00")


def eval_js_output(text):
    """mongosh prints relaxed JS; EJSON.serialize made it JSON with unquoted keys at most."""
    quoted = re.sub(r"(?m)^(\s*)([A-Za-z_$][\w$]*):", r'\1"\2":', text)
    return json.loads(quoted.replace("'", '"'))


def test_exports_write_the_views_numbers_as_csv_and_json_lines(app, db, stays, tmp_path):
    """`flask --app run export`: the KPIs of a city's January exactly as occupancy_daily
    gives them, and the booked nights as bookings_flat, in CSV and JSON lines."""
    runner = app.test_cli_runner()
    kpis = tmp_path / "kpis.csv"
    done = runner.invoke(
        args=[
            "export",
            "kpis",
            "--from",
            "2027-01-01",
            "--to",
            "2027-02-01",
            "--city",
            "Paris",
            "--out",
            str(kpis),
        ]
    )
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(kpis.read_text().splitlines()))
    view = list(
        db.occupancy_daily.find(
            {"hotel": stays["hotel"], "date": {"$gte": D(2027, 1, 1), "$lt": D(2027, 2, 1)}}
        ).sort("date", 1)
    )
    assert len(rows) == len(view) == 31
    for got, want in zip(rows, view, strict=True):
        assert got["date"] == want["date"].strftime("%Y-%m-%d")
        assert int(got["rooms_sold"]) == want["rooms_sold"]
        assert got["room_revenue"] == str(want["room_revenue"])
        assert got["revpar"] == (str(want["revpar"]) if want["revpar"] is not None else "")
    assert sum(int(r["rooms_sold"]) for r in rows) == 5  # 3 + 2 confirmed nights
    # the city as people type it, as a search takes it: the same rows
    typed = tmp_path / "typed.csv"
    args = ["export", "kpis", "--from", "2027-01-01", "--to", "2027-02-01", "--out", str(typed)]
    assert runner.invoke(args=[*args, "--city", " PARIS"]).exit_code == 0
    assert typed.read_text() == kpis.read_text()

    nights = tmp_path / "nights.jsonl"
    done = runner.invoke(
        args=[
            "export",
            "bookings",
            "--from",
            "2027-01-01",
            "--to",
            "2027-03-01",
            "--hotel",
            str(stays["hotel"]),
            "--format",
            "jsonl",
            "--out",
            str(nights),
        ]
    )
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in nights.read_text().splitlines()]
    assert len(lines) == len(list(db.bookings_flat.find())) == 9
    assert lines[0]["hotel_name"] == "Analyst Inn" and lines[0]["date"] == "2027-01-10"
    assert lines[0]["price"] == "100.00" and lines[0]["booked_at"] == "2026-12-11T00:00:00Z"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2027-02-01", "--to", "2027-01-01"], "--to must be after --from"),
        (["--from", "01/02/2027", "--to", "2027-03-01"], "dates are YYYY-MM-DD"),
        (
            ["--from", "2027-01-01", "--to", "2027-02-01", "--hotel", "nope"],
            "--hotel is a 24-character hotel id",
        ),
    ],
)
def test_export_refuses_bad_arguments(app, args, message):
    bad = app.test_cli_runner().invoke(args=["export", "kpis", *args])
    assert bad.exit_code == 2 and message in bad.output


def test_bookings_flat_follows_every_writer_and_survives_a_crash(db, guest, admin, stock):
    """Bookings made, paid, changed and cancelled through the API, a hotel renamed, a
    booking written straight to MongoDB: after the worker's pass the kept rows equal a
    recomputation. A pass that dies after applying, before keeping its token, is
    applied again by the next: the same rows."""
    from tests.factories import book, change, pay

    room_type, start = stock(nights=6, allotment=3)
    flat.drain(db)
    first = book(guest, room_type, start, nights=2).json
    assert pay(guest, first).status_code == 201
    second = book(guest, room_type, start.plus(2), nights=3).json
    longer = {"check_out": start.plus(3).isoformat(), "payment_method": "pm_card_visa"}
    moved = change(guest, guest.get(f"bookings/{first['_id']}").json, longer)
    assert moved.status_code == 200, moved.json
    assert (
        guest.patch_item(f"bookings/{second['_id']}", {"status": "cancelled"}).status_code == 200
    )
    renamed = admin.patch_item(f"hotels/{room_type['hotel']}", {"name": "Renamed Inn"})
    assert renamed.status_code == 200
    assert flat.drain(db) > 0
    assert flat.drift(db) == []
    rows = list(db.bookings_flat.find({"booking": ObjectId(first["_id"])}).sort("date", 1))
    assert [r["date"] for r in rows] == [start, start.plus(1), start.plus(2)]
    assert {r["hotel_name"] for r in db.bookings_flat.find()} == {"Renamed Inn"}

    kept = db.feed_positions.find_one({"_id": flat.FEED})["token"]
    db.bookings.update_one({"_id": ObjectId(second["_id"])}, {"$set": {"status": "expired"}})

    def killed(*args):
        raise RuntimeError("killed before the token")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flat.POSITION, "save", killed)
        with pytest.raises(RuntimeError):
            flat.drain(db)
    assert db.feed_positions.find_one({"_id": flat.FEED})["token"] == kept  # not moved on
    flat.drain(db)  # applies the change again: the same rows
    assert flat.drift(db) == []
    assert {r["status"] for r in db.bookings_flat.find({"booking": ObjectId(second["_id"])})} == {
        "expired"
    }


def test_a_hotels_month_of_bookings_flat_is_an_index_read(db, stays):
    plan = db.bookings_flat.find(
        {"hotel": stays["hotel"], "check_in": {"$gte": D(2027, 1, 1), "$lt": D(2027, 2, 1)}}
    ).explain()
    assert "IXSCAN" in str(plan["queryPlanner"]["winningPlan"]), plan


def test_one_pass_reads_past_writes_it_does_not_watch(db, stays):
    """An empty batch from the change stream is not the end: the server may have skipped
    a run of writes to other collections and have more (seen on the embedded server)."""
    db.scratch.insert_many([{"n": n} for n in range(5000)])  # not watched
    db.bookings.update_many({"status": "confirmed"}, {"$set": {"status": "expired"}})
    assert flat.drain(db) >= 3
    assert flat.drift(db) == []
    assert set(db.bookings_flat.distinct("status")) == {"cancelled", "expired"}
