"""The inventory calendar: a room type's month of nights, edited one night or a range."""

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
    """A range of nights to set at once, as PUT /room-types/<id>/inventory does."""

    room_type = StringField("room type")
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
    """The inventory calendar: a month of one room type's nights (price, rooms to sell,
    booked, closed) and a range edit through the same service as the range PUT."""

    roles = OPERATORS

    @expose("/", methods=["GET", "POST"])
    def index(self):
        database = db()
        choices = rules.room_types_with_hotels(database, managed(g.user))
        chosen = request.values.get("room_type") or (str(choices[0][0]["_id"]) if choices else "")
        form = CalendarForm(request.form)
        if request.method == "POST" and form.validate():
            self._set_range(database, form)
            return redirect(url_for(".index", room_type=chosen, month=request.values.get("month")))
        month = _month(request.args.get("month"))
        first, end = month, _next_month(month)
        if choices and chosen not in {str(rt["_id"]) for rt, _hotel in choices}:
            abort(404, description=f"room type {chosen} not found among yours")
        rows = rules.inventory_nights(database, ObjectId(chosen), first, end) if choices else {}
        return self.render(
            "admin_calendar.html",
            form=form,
            choices=choices,
            chosen=chosen,
            month=month,
            previous=_month_before(month),
            following=end,
            weeks=_weeks(first, end),
            rows=rows,
        )

    def _set_range(self, database, form):
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
            if not ObjectId.is_valid(form.room_type.data or ""):
                raise Refusal(422, "choose a room type", {"room_type": "required"})
            result = rules.set_inventory_range(
                database.client, database, ObjectId(form.room_type.data), values, g.user
            )
        except Refusal as refusal:
            issues = "; ".join(f"{k}: {v}" for k, v in (refusal.issues or {}).items())
            flash(
                f"{refusal.status}: {refusal.message}" + (f" ({issues})" if issues else ""),
                "error",
            )
            return
        counts = f"{result['created']} new, {result['updated']} changed"
        flash(f"{result['nights']} nights set ({counts})", "success")


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
