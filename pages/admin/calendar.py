"""The inventory calendar: a hotel's room types night by night, or one room type's
month, edited a night or a range at a time."""

from bson import ObjectId
from flask import abort, flash, g, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import Optional

from catalogue import rules
from pages.admin.access import OPERATORS, AdminOnly, managed
from plumbing.context import db
from plumbing.errors import Refusal
from plumbing.values import Day, today


class CalendarForm(SecureForm):
    """A range of nights to set at once, as PUT /room-types/<id>/inventory does; the
    room types it sets are the form's `room_type` values (one, or a hotel's ticked)."""

    first = StringField("first night", render_kw={"type": "date"})
    last = StringField("last night", render_kw={"type": "date"})
    price = StringField("price")
    allotment = IntegerField("rooms to sell", validators=[Optional()])
    closed = SelectField(
        "nights are",
        choices=[
            SelectChoice("", "as they are"),
            SelectChoice("open", "open"),
            SelectChoice("closed", "closed"),
        ],
        default="",
    )
    min_stay = IntegerField("minimum stay", validators=[Optional()])


class CalendarView(AdminOnly, BaseView):
    """The inventory calendar. `?hotel=<id>` shows a month of every room type of the
    hotel, one row each; `?room_type=<id>` one room type's month as weeks. Each night
    shows its price with the hotel's currency, rooms booked of those on sale, and
    whether it is closed. The range edit goes through the same service as the range
    PUT, for every ticked room type in one transaction."""

    roles = OPERATORS

    @expose("/", methods=["GET", "POST"])
    def index(self):
        database = db()
        hotels = rules.hotel_choices(database, managed(g.user))
        kind, chosen = _chosen(request.args, hotels)
        month = _month(request.args.get("month"))
        place = {kind: chosen, "month": month.strftime("%Y-%m")} if chosen else {}
        form = CalendarForm(request.form)
        if request.method == "POST" and form.validate():
            self._set_range(database, form, request.form.getlist("room_type"))
            return redirect(url_for(".index", **place))
        hotel, room_types = _find(database, hotels, kind, chosen)
        first, end = month, _next_month(month)
        rows = {
            str(room_type["_id"]): rules.inventory_nights(database, room_type["_id"], first, end)
            for room_type in room_types
        }
        days = [first.plus(i) for i in range((end - first).days)]
        return self.render(
            "admin_calendar.html",
            form=form,
            hotels=hotels,
            kind=kind,
            chosen=chosen,
            hotel=hotel,
            room_types=room_types,
            all_room_types=rules.room_types_of(database, hotel["_id"]) if hotel else [],
            currency=(hotel or {}).get("currency", "EUR"),
            month=month,
            previous=_month_before(month),
            following=end,
            days=days,
            weeks=_weeks(first, end),
            rows=rows,
        )

    def _set_range(self, database, form, room_type_ids):
        """With a price and rooms to sell, every night is set whole (as the range PUT
        does, creating missing nights); without them, only what the form gives changes
        (as the range PATCH does): close or open nights alone, or change only a price."""
        body = {"from": form.first.data, "to": _day_after(form.last.data)}
        whole = bool(form.price.data) and form.allotment.data is not None
        if form.price.data:
            body["price"] = form.price.data
        if form.allotment.data is not None:
            body["allotment"] = form.allotment.data
        if form.closed.data or whole:
            body["closed"] = form.closed.data == "closed"
        if form.min_stay.data or whole:
            body["min_stay"] = form.min_stay.data or 1
        try:
            values = rules.parse_range(body, partial=not whole)
            if not room_type_ids or not all(ObjectId.is_valid(i) for i in room_type_ids):
                raise Refusal(422, "tick at least one room type", {"room_type": "required"})
            results = rules.set_inventory_ranges(
                database.client, database, [ObjectId(i) for i in room_type_ids], values, g.user
            )
        except Refusal as refusal:
            issues = "; ".join(f"{k}: {v}" for k, v in (refusal.issues or {}).items())
            flash(
                f"{refusal.status}: {refusal.message}" + (f" ({issues})" if issues else ""),
                "error",
            )
            return
        created = sum(result["created"] for result in results)
        changed = sum(result["updated"] for result in results)
        nights = results[0]["nights"]
        of = "" if len(results) == 1 else f" of {len(results)} room types"
        flash(
            f"{nights} night{'' if nights == 1 else 's'}{of} set "
            f"({created} new, {changed} changed)",
            "success",
        )


def _chosen(values, hotels):
    """("hotel" or "room_type", id) from `?view=hotel:<id>` (the chooser), `?hotel=` or
    `?room_type=`; the first hotel when none is named."""
    kind, _, chosen = (values.get("view") or "").partition(":")
    if kind not in ("hotel", "room_type"):
        kind = "room_type" if values.get("room_type") else "hotel"
        chosen = values.get(kind, "")
    if not chosen:
        return ("hotel", str(hotels[0]["_id"])) if hotels else ("hotel", "")
    return kind, chosen


def _find(database, hotels, kind, chosen):
    """(hotel, [room types shown]) for the choice, read for it alone (a page of a large
    catalogue reads one hotel's room types, not every hotel's); a 404 for one that is
    not among yours; (None, []) when there is no hotel at all."""
    if not chosen:
        return None, []
    yours = {str(hotel["_id"]): hotel for hotel in hotels}
    if ObjectId.is_valid(chosen):
        if kind == "hotel" and chosen in yours:
            hotel = yours[chosen]
            return hotel, rules.room_types_of(database, hotel["_id"])
        if kind == "room_type":
            found = database.room_types.find_one(
                {"_id": ObjectId(chosen)}, {"name": 1, "hotel": 1}
            )
            if found is not None and str(found["hotel"]) in yours:
                return yours[str(found["hotel"])], [found]
    abort(404, description=f"{kind.replace('_', ' ')} {chosen} not found among yours")


def _month(text):
    try:
        day = Day.parse(f"{text}-01") if text else today()
    except ValueError:
        day = today()
    return Day(day.year, day.month, 1)


def _next_month(month):
    return Day(month.year + month.month // 12, month.month % 12 + 1, 1)


def _month_before(month):
    return Day(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def _weeks(first, end):
    """Weeks (Monday first) of the month's nights; None pads the first and last."""
    cells = [None] * first.weekday() + [first.plus(i) for i in range((end - first).days)]
    cells += [None] * (-len(cells) % 7)
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def _day_after(text):
    try:
        return Day.parse(text).plus(1).isoformat()
    except (TypeError, ValueError):
        return text  # parse_range names the field
