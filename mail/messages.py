"""What guests are told, rendered from templates (mail/templates/, plain text and HTML):
a booking confirmed (with the stay as an .ics made by the icalendar library), a booking
cancelled (with its refund), a payment's receipt, a hold about to lapse, a password
reset.

Each `*_message` returns the outbox fields (to, subject, text, html, attachments); the
caller writes them with outbox.enqueue under an id naming what happened.
"""

from datetime import datetime

from icalendar import Calendar, Event
from jinja2 import Environment, PackageLoader, select_autoescape

from plumbing.values import Day

TEMPLATES = Environment(
    loader=PackageLoader("mail", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    keep_trailing_newline=True,
)


def _render(template, **context):
    return (
        TEMPLATES.get_template(f"{template}.txt").render(**context),
        TEMPLATES.get_template(f"{template}.html").render(**context),
    )


def _money(value, currency):
    amount = value.to_decimal() if hasattr(value, "to_decimal") else value
    return f"{amount} {currency}"


def _day(value):
    return Day.of(value).isoformat()


def _plural(count, word):
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def terms(policy):
    """A booking's cancellation policy in plain words."""
    policy = policy or {}
    if (
        not policy.get("refundable", True)
        or policy.get("penalty_percent") == 100
        and not (policy.get("free_until_hours"))
    ):
        return "non-refundable: a cancellation refunds nothing"
    hours = policy.get("free_until_hours", 0)
    kept = policy.get("penalty_percent", 0)
    when = f"{policy.get('check_in_time', '15:00')} {policy.get('timezone', 'UTC')}"
    if not kept:
        return "free cancellation at any time"
    later = "the whole total is kept" if kept == 100 else f"{kept} % of the total is kept"
    if hours:
        return (
            f"free cancellation until {hours} hours before arrival ({when}); after that, {later}"
        )
    return f"a cancellation keeps {kept} % of the total"


def _address(hotel):
    address = hotel.get("address") or {}
    parts = [address.get("street"), address.get("postal_code"), address.get("city")]
    return ", ".join(p for p in parts if p) + (
        f" ({address['country']})" if address.get("country") else ""
    )


class Lookups:
    """What messages read about their bookings (hotels, guests, room types), each read
    once: a feed's pass prefetches its bookings' in three commands; alone (a reminder),
    it reads as it goes. Passed where a message takes `db`."""

    def __init__(self, db):
        self.db = db
        self.hotels, self.guests, self.room_types = {}, {}, {}

    def prefetch(self, bookings):
        bookings = list(bookings)
        self._load(self.hotels, "hotels", {b.get("hotel") for b in bookings}, None)
        guests = {b.get("guest") for b in bookings}
        self._load(self.guests, "users", guests, {"email": 1, "name": 1})
        room_types = {r.get("room_type") for b in bookings for r in (b.get("rooms") or [b])}
        self._load(self.room_types, "room_types", room_types, {"name": 1})

    def _load(self, known, collection, ids, projection):
        wanted = [i for i in ids if i is not None and i not in known]
        if wanted:
            for document in self.db[collection].find({"_id": {"$in": wanted}}, projection):
                known[document["_id"]] = document
            for missing in wanted:
                known.setdefault(missing, None)

    def hotel(self, hotel_id):
        self._load(self.hotels, "hotels", [hotel_id], None)
        return self.hotels.get(hotel_id)

    def guest(self, guest_id):
        self._load(self.guests, "users", [guest_id], {"email": 1, "name": 1})
        return self.guests.get(guest_id)

    def room_type_names(self, ids):
        self._load(self.room_types, "room_types", ids, {"name": 1})
        return {i: self.room_types[i]["name"] for i in ids if self.room_types.get(i)}


def _lookups(db):
    return db if isinstance(db, Lookups) else Lookups(db)


def _rooms(lookups, booking):
    rooms = booking.get("rooms") or [booking]
    names = lookups.room_type_names([room.get("room_type") for room in rooms])
    listed = []
    for room in rooms:
        party = _plural(room.get("adults", 1), "adult")
        if room.get("children"):
            party += ", " + _plural(room["children"], "child").replace("childs", "children")
        plan = (room.get("rate_plan_terms") or booking.get("rate_plan_terms") or {}).get("name")
        listed.append(
            {
                "name": names.get(room.get("room_type"), "room"),
                "party": party,
                "plan": f"{plan} rate" if plan else "standard rate",
            }
        )
    return listed


def _context(db, booking, public_url):
    lookups = _lookups(db)
    hotel = lookups.hotel(booking["hotel"]) or {"name": "your hotel"}
    guest = lookups.guest(booking["guest"]) or {}
    nights = (Day.of(booking["check_out"]) - Day.of(booking["check_in"])).days
    return guest.get("email"), {
        "booking": booking,
        "hotel": hotel,
        "name": guest.get("name") or booking.get("guest_name") or "guest",
        "address": _address(hotel),
        "check_in": _day(booking["check_in"]),
        "check_out": _day(booking["check_out"]),
        "nights": nights,
        "check_in_time": hotel.get("check_in_time", "15:00"),
        "timezone": hotel.get("timezone", "UTC"),
        "rooms": _rooms(lookups, booking),
        "total": _money(booking["total_price"], booking["currency"]),
        "charges": _charges(booking),
        "terms": terms(booking.get("cancellation_policy")),
        "link": f"{public_url}/api/v1/bookings/{booking['_id']}",
    }


def _charges(booking):
    """The breakdown's lines, [(label, amount)], when the total is more than the rooms'
    price or includes VAT (empty otherwise): what the all-in total is made of."""
    breakdown = booking.get("price_breakdown") or {}
    lines = [*breakdown.get("taxes", ()), *breakdown.get("fees", ())]
    if not lines:
        return []
    currency = booking["currency"]
    return [("Rooms", _money(breakdown["room"], currency))] + [
        (line["name"], _money(line["amount"], currency)) for line in lines
    ]


def stay_calendar(booking, hotel, address):
    """The stay as an iCalendar event (all-day, arrival to departure)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Innkeeper//booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{booking['_id']}@innkeeper")
    event.add("dtstamp", datetime.utcnow())
    event.add("dtstart", Day.of(booking["check_in"]).date())
    event.add("dtend", Day.of(booking["check_out"]).date())
    event.add("summary", f"Stay at {hotel['name']}")
    event.add("location", address)
    event.add("description", f"Confirmation code {booking['confirmation_code']}")
    calendar.add_component(event)
    return calendar.to_ical()


def _subject(what, booking, context):
    hotel, code = context["hotel"]["name"], booking["confirmation_code"]
    return f"{what}: {hotel}, {context['check_in']} ({code})"


def booking_confirmed(db, booking, public_url):
    to, context = _context(db, booking, public_url)
    subject = _subject("Booking confirmed", booking, context)
    text, html = _render("booking_confirmed", subject=subject, **context)
    ics = stay_calendar(booking, context["hotel"], context["address"])
    return {
        "to": to,
        "subject": subject,
        "text": text,
        "html": html,
        "attachments": [{"filename": "stay.ics", "content_type": "text/calendar", "data": ics}],
    }


def booking_cancelled(db, booking, public_url):
    to, context = _context(db, booking, public_url)
    refund = booking.get("refund_amount")
    zero = (
        refund is None or (refund.to_decimal() if hasattr(refund, "to_decimal") else refund) == 0
    )
    subject = _subject("Booking cancelled", booking, context)
    text, html = _render(
        "booking_cancelled",
        subject=subject,
        refund=_money(refund if refund is not None else 0, booking["currency"]),
        refund_zero=zero,
        **context,
    )
    return {"to": to, "subject": subject, "text": text, "html": html}


def booking_changed(db, booking, public_url):
    to, context = _context(db, booking, public_url)
    moved = booking.get("last_change") or {}
    subject = _subject("Booking changed", booking, context)
    text, html = _render(
        "booking_changed",
        subject=subject,
        charged=_money(moved.get("charged", 0), booking["currency"]),
        refunded=_money(moved.get("refunded", 0), booking["currency"]),
        charged_some=_nonzero(moved.get("charged")),
        refunded_some=_nonzero(moved.get("refunded")),
        **context,
    )
    return {"to": to, "subject": subject, "text": text, "html": html}


def _nonzero(value):
    if value is None:
        return False
    return (value.to_decimal() if hasattr(value, "to_decimal") else value) != 0


PURPOSES = {
    "booking": "your booking",
    "change": "the change to your booking",
    "fee": "the fee your booking's policy keeps",
}


def payment_receipt(db, payment, booking, public_url):
    to, context = _context(db, booking, public_url)
    subject = _subject("Payment receipt", booking, context)
    text, html = _render(
        "payment_receipt",
        subject=subject,
        amount=_money(payment["amount"], payment["currency"]),
        purpose=PURPOSES.get(payment.get("purpose", "booking"), "your booking"),
        paid=(payment.get("_updated") or payment.get("_created")).strftime("%Y-%m-%d %H:%M UTC"),
        reference=str(payment["_id"]),
        **context,
    )
    return {"to": to, "subject": subject, "text": text, "html": html}


def hold_expiring(db, booking, public_url, now):
    to, context = _context(db, booking, public_url)
    left = max(1, round((booking["hold_expires_at"] - now).total_seconds() / 60))
    subject = _subject("Pay to keep your booking", booking, context)
    text, html = _render(
        "hold_expiring",
        subject=subject,
        until=booking["hold_expires_at"].strftime("%H:%M"),
        minutes=left,
        **context,
    )
    return {"to": to, "subject": subject, "text": text, "html": html}


def password_reset(user, token, minutes, public_url):
    subject = "Reset your Innkeeper password"
    text, html = _render(
        "password_reset",
        subject=subject,
        name=user.get("name") or "guest",
        token=token,
        minutes=minutes,
        api=f"{public_url}/api/v1",
    )
    return {"to": user["email"], "subject": subject, "text": text, "html": html}


def webhook_disabled(manager, hotel, endpoint, reason, public_url):
    """A hotel's manager told that one of its webhook endpoints was switched off."""
    subject = f"Webhook endpoint disabled: {hotel['name']}"
    text, html = _render(
        "webhook_disabled",
        subject=subject,
        name=manager.get("name") or "manager",
        hotel=hotel["name"],
        url=endpoint["url"],
        reason=reason,
        api=f"{public_url}/api/v1",
        endpoint_id=str(endpoint["_id"]),
    )
    return {"to": manager["email"], "subject": subject, "text": text, "html": html}
