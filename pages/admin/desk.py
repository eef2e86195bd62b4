"""The front desk in the admin: a booking's detail page, with what cancelling it now
does and the steps its hotel's staff can take (check in, check out, no-show), each a
CSRF-protected form that goes through the booking area's write path (booking/stay.py)
with the etag the page was read with - the same rules and refusals as the API's."""

from eve.methods.patch import patch_internal
from flask import current_app, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.form import SecureForm
from wtforms import BooleanField, HiddenField

from booking import reservations, stay
from mail import outbox
from pages.admin.views import ReadOnlyView
from payments import fees
from plumbing.context import db
from plumbing.errors import Refusal
from plumbing.values import utcnow

STEPS = {
    "check_in": (stay.check_in, "check in", "checked in"),
    "check_out": (stay.check_out, "check out", "checked out"),
    "no_show": (stay.no_show, "record a no-show", "recorded as a no-show"),
}
# Which steps a booking's status offers.
OFFERED = {"confirmed": ("check_in", "no_show"), "checked_in": ("check_out",)}


class DeskForm(SecureForm):
    booking = HiddenField()
    etag = HiddenField()
    step = HiddenField()
    back = HiddenField()  # "dashboard": the worklist it was sent from


def worklist_form(booking, step):
    """A step from the dashboard's arrivals or departures, which it returns to."""
    return DeskForm(
        booking=str(booking["_id"]), etag=booking["_etag"], step=step, back="dashboard"
    )


class CancelForm(SecureForm):
    """An admin's cancellation: what it refunds or charges is on the page, and the box
    says it was read."""

    booking = HiddenField()
    etag = HiddenField()
    confirmed = BooleanField("I have read what cancelling does, and cancel this booking")


class BookingsView(ReadOnlyView):
    """Bookings, read-only as data, with a detail page the front desk works from."""

    can_view_details = True
    details_template = "admin_booking_details.html"
    column_details_list = [
        "confirmation_code",
        "status",
        "guest",
        "hotel",
        "check_in",
        "check_out",
        "nights",
        "adults",
        "children",
        "rate_plan",
        "payment",
        "total_price",
        "refund_amount",
        "debt",
        "dispute",
        "confirmed_at",
        "checked_in_at",
        "checked_out_at",
        "no_show_at",
        "cancelled_at",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.column_formatters_detail = {**self.column_formatters, "total_price": _all_in}

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs["desk"] = self._desk(kwargs["model"])
        return super().render(template, **kwargs)

    def _desk(self, booking):
        terms = (
            reservations.cancellation_terms(booking, utcnow())[0]
            if booking.get("status") in ("pending_payment", "confirmed")
            else None
        )
        forms = []
        for step in OFFERED.get(booking.get("status"), ()):
            form = DeskForm(booking=str(booking["_id"]), etag=booking["_etag"], step=step)
            forms.append((STEPS[step][1], form))
        mail = outbox.of_booking(db(), booking["_id"])
        resend = None
        if any(m["_id"] == _confirmation(booking["_id"]) for m in mail):
            resend = DeskForm(booking=str(booking["_id"]), etag=booking["_etag"], step="resend")
        cancel = None
        if terms is not None:  # as the API: the hotel's managers and admins
            cancel = CancelForm(booking=str(booking["_id"]), etag=booking["_etag"])
        return {
            "terms": terms,
            "cancel": cancel,
            "forms": forms,
            "debt": booking.get("debt"),
            "mail": mail,
            "resend": resend,
            "admin": g.user["role"] == "admin",
        }

    @expose("/desk/", methods=("POST",))
    def desk_view(self):
        form = DeskForm(request.form)
        back = url_for(".details_view", id=form.booking.data)
        if form.back.data == "dashboard":
            back = url_for("admin.index")
        if not form.validate() or form.step.data not in (*STEPS, "resend"):
            flash("the form has expired; open the booking again", "error")
            return redirect(back)
        if form.step.data == "resend":
            return self._resend(form.booking.data, back)
        write, _verb, done = STEPS[form.step.data]
        try:
            booking = stay.front_desk_booking(db(), form.booking.data, g.user)
            changes = write(db().client, db(), booking, form.etag.data, utcnow())
        except Refusal as refusal:
            flash(refusal.message, "error")
            return redirect(back)
        fees.charge(db(), current_app.extensions["payment_provider"], {**booking, **changes})
        flash(f"{booking['confirmation_code']} {done}", "success")
        return redirect(back)

    @expose("/desk/cancel/", methods=("POST",))
    def cancel_view(self):
        """Cancel through Eve's PATCH, as the API's cancellation does: the booking area's
        cancellation and the payments area's refund run on its events. The hotel's
        managers and admins (front_desk_booking: 404 for another hotel's booking)."""
        form = CancelForm(request.form)
        back = url_for(".details_view", id=form.booking.data)
        if not form.validate():
            flash("the form has expired; open the booking again", "error")
            return redirect(back)
        if not form.confirmed.data:
            flash(
                "nothing cancelled: tick the box once you have read what cancelling does", "error"
            )
            return redirect(back)
        try:
            booking = stay.front_desk_booking(db(), form.booking.data, g.user)
            if booking["_etag"] != form.etag.data:
                raise Refusal(412, "the booking changed since you read it: read it again")
            answer = patch_internal(
                "bookings",
                {"status": "cancelled"},
                concurrency_check=False,
                skip_validation=False,
                _id=booking["_id"],
            )
        except Refusal as refusal:
            flash(refusal.message, "error")
            return redirect(back)
        if answer[3] >= 400:
            flash((answer[0].get("_error") or {}).get("message") or "refused", "error")
            return redirect(back)
        cancelled = db().bookings.find_one({"_id": booking["_id"]})
        refund = cancelled.get("refund_amount")
        said = f", {refund} {cancelled['currency']} refunded" if refund is not None else ""
        flash(f"{booking['confirmation_code']} cancelled{said}", "success")
        return redirect(back)

    def _resend(self, booking_id, back):
        """Send the guest's confirmation again (a manager of the booking's hotel or an
        admin), through the outbox: the worker's next pass, the same Message-ID."""
        try:
            booking = stay.front_desk_booking(db(), booking_id, g.user)
        except Refusal as refusal:
            flash(refusal.message, "error")
            return redirect(back)
        if outbox.send_again(db(), _confirmation(booking["_id"])):
            flash(f"the confirmation of {booking['confirmation_code']} goes out again", "success")
        else:
            flash("the confirmation is waiting to be sent already", "info")
        return redirect(back)


def _all_in(view, context, model, name):  # noqa: ARG001 - Flask-Admin's formatter
    """The all-in total and what it is made of: rooms, then each tax and fee."""
    currency = model.get("currency", "")
    total = f"{model.get(name)} {currency}"
    breakdown = model.get("price_breakdown") or {}
    lines = [*breakdown.get("taxes", ()), *breakdown.get("fees", ())]
    if not lines:
        return total
    parts = [f"rooms {breakdown['room']}"] + [f"{line['name']} {line['amount']}" for line in lines]
    return f"{total} ({'; '.join(parts)})"


def _confirmation(booking_id):
    return f"booking:{booking_id}:confirmed"
