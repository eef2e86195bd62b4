"""The dashboard: today's figures, occupancy and money charts, the latest bookings."""

from flask import flash, g, redirect, request, session, url_for
from flask_admin import AdminIndexView, expose
from markupsafe import Markup

from identity import accounts
from pages.admin.access import OPERATORS, AdminOnly, LoginForm, managed
from pages.admin.desk import worklist_form
from plumbing.context import db
from reporting import dashboard


class HomeView(AdminOnly, AdminIndexView):
    roles = OPERATORS

    @expose("/")
    def index(self):
        """The dashboard: today's arrivals and departures, the next 30 days' occupancy,
        ADR and RevPAR (from the kept KPIs), the latest bookings and payments."""
        database, hotels = db(), managed(g.user)
        arriving, leaving = dashboard.arrivals_and_departures(database, hotels)
        days, figures = dashboard.next_days(database, hotels)
        latest = dashboard.recent(database, "bookings", hotels)
        payments = dashboard.recent(database, "payments", hotels)
        names = dashboard.hotel_names(
            database, {b["hotel"] for b in arriving + leaving + latest + payments}
        )
        # The worklists: today's arrivals to check in, departures to check out, each
        # through the front desk's write path (pages/admin/desk.py), back to this page.
        steps = {
            str(b["_id"]): worklist_form(b, "check_in")
            for b in arriving
            if b["status"] == "confirmed"
        }
        steps.update(
            (str(b["_id"]), worklist_form(b, "check_out"))
            for b in leaving
            if b["status"] == "checked_in"
        )
        return self.render(
            "admin_dashboard.html",
            arriving=arriving,
            leaving=leaving,
            days=days,
            figures=figures,
            latest=latest,
            payments=payments,
            names=names,
            steps=steps,
            chart=occupancy_chart(days),
            money=money_charts(figures),
        )

    @expose("/login", methods=["GET", "POST"])
    def login(self):
        form = LoginForm(request.form)
        if request.method == "POST" and form.validate():
            user = accounts.authenticate(db(), form.email.data, form.password.data)
            if user is not None and user.get("role") in OPERATORS:
                session.clear()
                session["admin_id"] = str(user["_id"])
                session["admin_tv"] = user.get("token_version", 0)
                return redirect(url_for("admin.index"))
            flash(
                "email or password is incorrect, or the account is neither an admin nor a "
                "hotel manager",
                "error",
            )
        return self.render("admin_login.html", form=form)

    @expose("/logout")
    def logout(self):
        session.clear()
        return redirect(url_for("admin.login"))

    def is_accessible(self):
        if request.endpoint in ("admin.login", "admin.logout"):
            return True
        return super().is_accessible()


BAR = Markup(
    '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#2f6f9f">'
    "<title>{}</title></rect>"
)


CHART = Markup(
    '<svg role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%" height="{}">{}</svg>'
)
AXIS = Markup('<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#5f6b7a"/>')
TICK = Markup(
    '<text x="{:.1f}" y="{:.1f}" font-size="11" fill="#3a4550" text-anchor="{}">{}</text>'
)
LEFT, BOTTOM = 76, 18  # room for the value axis's labels ("13,893 JPY") and the nights'


def bar_chart(points, title, width=600, height=120, scale=str):
    """An SVG bar chart (no script, no CDN) of [(label, value or None, night)], each bar
    titled with its label, with labelled axes: the value axis from 0 to the highest
    value (`scale` writes them), the first and last night under the bars. Markup.format
    escapes every value it is given."""
    top = max((float(p[1]) for p in points if p[1] is not None), default=0) or 1
    plot_w, plot_h = width - LEFT, height
    step = plot_w / max(len(points), 1)
    parts = []
    for i, (label, value, _night) in enumerate(points):
        bar = max(float(value or 0) / top * plot_h, 1)
        parts.append(BAR.format(LEFT + i * step + 1, plot_h - bar, step - 2, bar, label))
    parts += [
        AXIS.format(LEFT, 0, LEFT, plot_h),
        AXIS.format(LEFT, plot_h, width, plot_h),
        TICK.format(LEFT - 4, 11, "end", scale(top)),
        TICK.format(LEFT - 4, plot_h, "end", scale(0)),
    ]
    if points:
        parts += [
            TICK.format(LEFT, plot_h + BOTTOM - 4, "start", points[0][2]),
            TICK.format(width, plot_h + BOTTOM - 4, "end", points[-1][2]),
        ]
    return CHART.format(title, width, height + BOTTOM, height + BOTTOM, Markup("").join(parts))


def occupancy_chart(days):
    points = [
        (
            f"{d['date']}: {(d['occupancy'] or 0):.0%} ({d['rooms_sold']}/{d['rooms_available']})",
            d["occupancy"],
            str(d["date"]),
        )
        for d in days
    ]
    return bar_chart(
        points, f"Occupancy of the next {len(days)} nights", scale=lambda v: f"{float(v):.0%}"
    )


def money_charts(figures):
    """{currency: (ADR chart, RevPAR chart)} night by night."""
    charts = {}
    for currency, figure in figures.items():
        adr = [
            (f"{night}: ADR {value} {currency}", value, str(night))
            for night, value, _r in figure["nights"]
        ]
        revpar = [
            (f"{night}: RevPAR {value} {currency}", value, str(night))
            for night, _a, value in figure["nights"]
        ]

        def in_currency(value, currency=currency):
            return f"{float(value):,.0f} {currency}"

        charts[currency] = (
            bar_chart(adr, f"ADR per night in {currency}", height=80, scale=in_currency),
            bar_chart(revpar, f"RevPAR per night in {currency}", height=80, scale=in_currency),
        )
    return charts
