"""Webhook endpoints in the admin: created and edited through Eve like every resource
(so the same rules and the URL guard), the signing secret shown once on creation, and
each endpoint's deliveries with every attempt, replayed with a CSRF-protected form."""

import simplejson as json
from bson import ObjectId
from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.form import SecureForm
from markupsafe import Markup
from wtforms import HiddenField

from pages.admin.views import DomainView, hotel_name
from plumbing.context import db
from webhooks import delivery


class ReplayForm(SecureForm):
    delivery = HiddenField()


def _deliveries_link(view, context, model, name):  # noqa: ARG001 - Flask-Admin's signature
    href = url_for(".deliveries", endpoint_id=str(model["_id"]))
    return Markup('<a href="{}">deliveries</a>').format(href)


def _events(view, context, model, name):  # noqa: ARG001
    return ", ".join(model.get("events") or ())


def _about(found):
    """A delivery with what it is about, as the front desk knows it (a booking's code)."""
    data = json.loads(found["payload"]).get("data") or {}
    found["about"] = data.get("confirmation_code") or (
        f"room type {data['room_type']}" if "room_type" in data and "nights" in data else ""
    )
    return found


class WebhookEndpointsView(DomainView):
    list_options = {
        "column_list": ["hotel", "deliveries", "enabled", "url", "events", "disabled_reason"],
        "column_labels": {"disabled_reason": "Disabled because"},
        "column_formatters": {
            "hotel": hotel_name,
            "events": _events,
            "deliveries": _deliveries_link,
        },
    }

    def create_model(self, form):
        created = super().create_model(form)
        secret = g.pop("webhook_secret", None)
        if created and secret:
            flash(
                f"The endpoint's signing secret, shown this once: {secret} "
                "(give it to the receiver's standardwebhooks library)",
                "success",
            )
        return created

    def _endpoint(self, endpoint_id):
        found = None
        if ObjectId.is_valid(endpoint_id):
            found = self.get_one(endpoint_id)  # scoped to a manager's hotels
        if found is None:
            abort(404, description=f"no webhook endpoint {endpoint_id}")
        return found

    @expose("/deliveries/<endpoint_id>", methods=["GET", "POST"])
    def deliveries(self, endpoint_id):
        endpoint = self._endpoint(endpoint_id)
        form = ReplayForm(request.form)
        if request.method == "POST":
            if not form.validate():
                abort(400, description="the form expired: open the page again")
            outcome = delivery.replay(db(), endpoint["_id"], form.delivery.data)
            if outcome is not None and outcome[0]:
                later = "" if endpoint.get("enabled") else ", once the endpoint is enabled"
                flash(
                    f"{form.delivery.data} goes again on the worker's next pass{later}", "success"
                )
            else:
                flash("that delivery is waiting to be sent already", "info")
            return redirect(url_for(".deliveries", endpoint_id=endpoint_id))
        return self.render(
            "admin_webhook_deliveries.html",
            endpoint=endpoint,
            hotel=hotel_name(self, None, endpoint, "hotel"),
            deliveries=[_about(d) for d in delivery.of_endpoint(db(), endpoint["_id"], limit=100)],
            form=form,
        )
