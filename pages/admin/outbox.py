"""The outbox: every message Innkeeper has written to guests, with its state, and each
message as the guest sees it (admins only)."""

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.form import SecureForm

from mail import outbox
from pages.admin.access import AdminOnly
from plumbing.context import db


class ResendForm(SecureForm):
    """Send a message again (its CSRF token only)."""


class OutboxView(AdminOnly, BaseView):
    @expose("/")
    def index(self):
        return self.render("admin_outbox.html", messages=outbox.recent(db()))

    @expose("/<path:message_id>", methods=["GET", "POST"])
    def message(self, message_id):
        found = outbox.one(db(), message_id)
        if found is None:
            abort(404, description=f"no message {message_id}")
        form = ResendForm(request.form)
        if request.method == "POST":
            if not form.validate():
                abort(400, description="the form expired: open the message again")
            if outbox.send_again(db(), message_id):
                flash("sent again on the worker's next pass (the same Message-ID)", "success")
            else:
                flash("this message is waiting to be sent already", "info")
            return redirect(url_for(".message", message_id=message_id))
        return self.render("admin_outbox_message.html", message=found, form=form)
