"""The admin's home page: today's arrivals and departures, the next 30 days' KPIs, the
latest bookings and payments - for every hotel, or a manager's own. Index reads only:
bookings by arrival (`check_in`), the kept KPI rows by hotel or night, the newest
documents by `_id`."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from plumbing.values import Day, local_today, minor_units, today, utcnow
from reporting import kpis

DAYS_AHEAD = 30
RECENT = 10


def _in_scope(document, hotels):
    return hotels is None or document["hotel"] in hotels


RECENT_WINDOWS = (timedelta(days=1), timedelta(days=7), timedelta(days=30))
ARRIVING = ("confirmed", "checked_in")
LEAVING = ("confirmed", "checked_in", "checked_out")  # confirmed: not checked in by the desk


def arrivals_and_departures(db, hotels=None, day=None, now=None):
    """The stays arriving on `day` (confirmed, or checked in already) and leaving on it
    (in the house, or checked out already). Without `day`: today where each hotel is
    (its time zone, as the front desk's steps judge it), so at 01:00 UTC a New York
    hotel's arrivals are still yesterday's UTC date and Tokyo's today's. Read by date
    only (its index, the three dates a hotel's today can be), then narrowed here: a
    second predicate beside the index key would make the embedded engine scan."""
    if day is not None:
        days, local = [day], lambda _booking: day
    else:
        now = now or utcnow()
        utc = Day.of(now)
        days = [utc.plus(-1), utc, utc.plus(1)]

        def local(booking):
            policy = booking.get("cancellation_policy") or {}
            return local_today(policy.get("timezone") or "UTC", now)

    arriving = [
        b
        for b in db.bookings.find({"check_in": {"$in": days}})
        if b["status"] in ARRIVING and _in_scope(b, hotels) and Day.of(b["check_in"]) == local(b)
    ]
    leaving = [
        b
        for b in db.bookings.find({"check_out": {"$in": days}})
        if b["status"] in LEAVING and _in_scope(b, hotels) and Day.of(b["check_out"]) == local(b)
    ]
    return arriving, leaving


def next_days(db, hotels=None, start=None, days=DAYS_AHEAD):
    """The nights from `start` (default today), summed over the hotels in scope:
    ([{date, rooms_available, rooms_sold, occupancy}], {currency: {occupancy, adr,
    revpar}} over the whole period). Money never adds across currencies."""
    start = start or today()
    nights = {"$gte": start, "$lt": start.plus(days)}
    if hotels is None:
        rows = list(db[kpis.CITY_DAILY].find({"date": nights}))
    else:
        rows = [
            row
            for hotel in hotels
            for row in db[kpis.HOTEL_DAILY].find({"hotel": hotel, "date": nights})
        ]
    daily = defaultdict(lambda: [0, 0])
    period = defaultdict(lambda: [0, 0, Decimal(0)])
    nightly = defaultdict(lambda: [0, 0, Decimal(0)])  # (night, currency)
    for row in rows:
        day = daily[Day.of(row["date"])]
        day[0] += row["rooms_available"]
        day[1] += row["rooms_sold"]
        for totals in (period[row["currency"]], nightly[(Day.of(row["date"]), row["currency"])]):
            totals[0] += row["rooms_available"]
            totals[1] += row["rooms_sold"]
            totals[2] += row["room_revenue"].to_decimal()
    out = []
    for offset in range(days):
        day = start.plus(offset)
        available, sold = daily.get(day, (0, 0))
        out.append(
            {
                "date": day,
                "rooms_available": available,
                "rooms_sold": sold,
                "occupancy": round(sold / available, 4) if available else None,
            }
        )
    figures = {
        currency: {
            "occupancy": round(sold / available, 4) if available else None,
            "adr": _ratio(revenue, sold, currency),
            "revpar": _ratio(revenue, available, currency),
            "revenue": revenue,
            # Night by night, for the charts: (night, ADR, RevPAR).
            "nights": [
                (
                    start.plus(offset),
                    _ratio(
                        nightly[(start.plus(offset), currency)][2],
                        nightly[(start.plus(offset), currency)][1],
                        currency,
                    ),
                    _ratio(
                        nightly[(start.plus(offset), currency)][2],
                        nightly[(start.plus(offset), currency)][0],
                        currency,
                    ),
                )
                for offset in range(days)
            ],
        }
        for currency, (available, sold, revenue) in sorted(period.items())
    }
    return out, figures


def _ratio(amount, count, currency):
    if not count:
        return None
    step = Decimal(1).scaleb(-minor_units(currency))
    return (amount / count).quantize(step)


def recent(db, collection, hotels=None, limit=RECENT, now=None):
    """The newest documents (by `_created`) in scope: the last day's (a week's, a
    month's, then all only when a shorter window holds fewer than `limit`), for every
    hotel through the `_created` index, for a manager's through (hotel, _created) one
    hotel at a time. A bounded range, so the engine reads a day of documents, not the
    collection (unbounded, the embedded engine sorted each hotel's every booking)."""
    now = now or utcnow()
    for window in (*RECENT_WINDOWS, None):
        since = {} if window is None else {"_created": {"$gte": now - window}}
        queries = [since] if hotels is None else [{"hotel": h, **since} for h in hotels]
        found = [
            document
            for query in queries
            for document in db[collection].find(query).sort("_created", -1).limit(limit)
        ]
        if len(found) >= limit or window is None:
            return sorted(found, key=lambda d: d["_created"], reverse=True)[:limit]
    return []  # not reached: the last window is unbounded


def hotel_names(db, ids):
    return {h["_id"]: h["name"] for h in db.hotels.find({"_id": {"$in": list(ids)}}, {"name": 1})}
