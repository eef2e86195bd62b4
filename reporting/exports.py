"""CSV and JSON-lines exports of the KPIs per hotel and night, and of the booked nights.

KPIs are the kept `occupancy_daily` rows (reporting/kpis.py) read by `(hotel, date)`; booked
nights are the `bookings_flat` view's pipeline (plumbing/provisioning.py) narrowed first
through the `(hotel, check_in)` index, so an export of one city's month reads that month,
not the database.
"""

import csv
import json
from datetime import datetime, timedelta

from bson import Decimal128, ObjectId

from domain.vocabulary import MAX_NIGHTS
from plumbing.values import Day, city_key
from reporting import kpis
from reporting.flat import BOOKINGS_FLAT

KPI_COLUMNS = [
    "hotel",
    "date",
    "currency",
    "rooms_available",
    "rooms_sold",
    "occupancy",
    "room_revenue",
    "adr",
    "revpar",
]
BOOKING_COLUMNS = [
    "booking",
    "confirmation_code",
    "status",
    "hotel",
    "hotel_name",
    "city",
    "country",
    "room_type",
    "room_type_name",
    "rate_plan",
    "date",
    "price",
    "currency",
    "check_in",
    "check_out",
    "nights",
    "booked_at",
    "lead_time_days",
]
KINDS = {"kpis": KPI_COLUMNS, "bookings": BOOKING_COLUMNS}


def hotels_in_scope(db, city=None, hotel=None):
    """[(hotel id, city)] for one hotel, a city's hotels (the city as people type it:
    `paris`, `Zurich` for Zürich, matched by its key), or every hotel."""
    query = {"_id": hotel} if hotel else {}
    if city and not hotel:  # the cities' spellings, from one read of every hotel's city
        wanted = city_key(city)
        spelled = {h["address"]["city"] for h in db.hotels.find({}, {"address.city": 1})}
        query = {"address.city": {"$in": sorted(c for c in spelled if city_key(c) == wanted)}}
    found = db.hotels.find(query, {"address.city": 1}).sort("_id", 1)
    return [(h["_id"], h["address"]["city"]) for h in found]


def _booked_in(hotel, start, end):
    """Bookings of a hotel that can have a night in [start, end), on the index keys."""
    earliest = start - timedelta(days=MAX_NIGHTS)
    return {"hotel": hotel, "check_in": {"$gte": earliest, "$lt": end}}


def kpi_rows(db, start, end, city=None, hotel=None):
    """occupancy_daily's rows for the hotels in scope and nights in [start, end)."""
    nights = {"$gte": start, "$lt": end}
    for hotel_id, _city in hotels_in_scope(db, city, hotel):
        yield from db[kpis.HOTEL_DAILY].find({"hotel": hotel_id, "date": nights}).sort("date", 1)


def booking_rows(db, start, end, city=None, hotel=None):
    """bookings_flat's rows (one a booked room and night) for the hotels and nights in scope."""
    nights = {"$gte": start, "$lt": end}
    for hotel_id, _city in hotels_in_scope(db, city, hotel):
        pipeline = [{"$match": _booked_in(hotel_id, start, end)}, *BOOKINGS_FLAT]
        pipeline += [{"$match": {"date": nights}}, {"$sort": {"date": 1, "booking": 1}}]
        yield from db.bookings.aggregate(pipeline)


NIGHT_COLUMNS = {"date", "check_in", "check_out"}


def cell(column, value):
    """One value as analysts' tools read it: ids and money as text, nights as
    YYYY-MM-DD, instants as ISO 8601 UTC."""
    if isinstance(value, ObjectId | Decimal128):
        return str(value)
    if isinstance(value, datetime):
        if column in NIGHT_COLUMNS:
            return Day.of(value).isoformat()
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def write(rows, out, columns, fmt="csv", progress=None):
    """Write rows to the text stream `out`; returns how many. `progress` (a tqdm bar or
    None) is advanced per row."""
    count = 0
    writer = csv.DictWriter(out, columns, extrasaction="ignore") if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for row in rows:
        flat = {column: cell(column, row.get(column)) for column in columns}
        if writer:
            writer.writerow(flat)
        else:
            out.write(json.dumps(flat) + "\n")
        count += 1
        if progress is not None:
            progress.update(1)
    return count
