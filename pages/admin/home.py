"""The dashboard: today's figures, occupancy and money charts, the latest bookings."""

from flask import flash, g, redirect, request, session, url_for
from flask_admin import AdminIndexView, expose
from markupsafe import Markup

from identity import accounts
from pages.admin.access import OPERATORS, AdminOnly, LoginForm, managed
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
        return self.render(
            "admin_dashboard.html",
            arriving=arriving,
            leaving=leaving,
            days=days,
            figures=figures,
            latest=latest,
            payments=payments,
            names=names,
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


def bar_chart(points, title, width=600, height=120):
    """An SVG bar chart (no script, no CDN) of [(label, value or None)], each bar titled
    with its label; Markup.format escapes every value it is given."""
    top = max((float(v) for _label, v in points if v is not None), default=0) or 1
    step = width / max(len(points), 1)
    bars = []
    for i, (label, value) in enumerate(points):
        bar = max(float(value or 0) / top * height, 1)
        bars.append(BAR.format(i * step + 1, height - bar, step - 2, bar, label))
    return CHART.format(title, width, height, height, Markup("").join(bars))


def occupancy_chart(days):
    points = [
        (
            f"{d['date']}: {(d['occupancy'] or 0):.0%} ({d['rooms_sold']}/{d['rooms_available']})",
            d["occupancy"],
        )
        for d in days
    ]
    return bar_chart(points, f"Occupancy of the next {len(days)} nights")


def money_charts(figures):
    """{currency: (ADR chart, RevPAR chart)} night by night."""
    charts = {}
    for currency, figure in figures.items():
        adr = [
            (f"{night}: ADR {value} {currency}", value) for night, value, _r in figure["nights"]
        ]
        revpar = [
            (f"{night}: RevPAR {value} {currency}", value) for night, _a, value in figure["nights"]
        ]
        charts[currency] = (
            bar_chart(adr, f"ADR per night in {currency}", height=80),
            bar_chart(revpar, f"RevPAR per night in {currency}", height=80),
        )
    return charts
