"""A payment's page in the admin: what was charged or refunded, for which booking (a link
to its front desk), and every event the payment provider sent about it."""

from flask import url_for
from markupsafe import Markup

from pages.admin.views import ReadOnlyView
from payments import checkout
from plumbing.context import db


def _booking_link(view, context, model, name):  # noqa: ARG001 - Flask-Admin's signature
    booking = db().bookings.find_one({"_id": model.get("booking")}, {"confirmation_code": 1})
    if booking is None:
        return str(model.get("booking", ""))
    href = url_for("admin_bookings.details_view", id=str(booking["_id"]))
    return Markup('<a href="{}">{}</a>').format(href, booking["confirmation_code"])


def _purpose(view, context, model, name):  # noqa: ARG001
    return model.get("purpose") or "booking"  # payments made before purposes were kept


class PaymentsView(ReadOnlyView):
    can_view_details = True
    details_template = "admin_payment_details.html"
    column_details_list = [
        "booking",
        "purpose",
        "status",
        "amount",
        "refunded_amount",
        "failure_reason",
        "guest",
        "hotel",
        "provider",
        "provider_reference",
        "_created",
        "_updated",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.column_formatters_detail = {
            **self.column_formatters,
            "booking": _booking_link,
            "purpose": _purpose,
        }

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs["events"] = checkout.events_of(db(), kwargs["model"]["_id"])
        return super().render(template, **kwargs)
