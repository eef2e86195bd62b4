"""Start-up: provisioning, the demo seed in the background, the banner."""

import threading

import click

from catalogue import cards
from demo import seed
from identity import accounts, resets
from mail import outbox
from payments import checkout
from plumbing import embedded, provisioning
from reporting import flat, kpis
from webhooks import delivery as webhook_delivery


def provision(app, log=None):
    """The start-up step: indexes, validators, views, then the configured admin account."""
    log = log or app.logger.warning
    embedded.start_planned(app)
    with app.app_context():
        db = app.data.driver.db
        provisioning.provision(db, log=log)
        kpis.provision(db)  # the kept KPI collections (reporting/kpis.py)
        flat.provision(db)  # the analysts' kept bookings_flat (reporting/flat.py)
        outbox.provision(db)  # the mail to send (mail/outbox.py)
        resets.provision(db)  # password reset tokens (identity/resets.py)
        webhook_delivery.provision(db)  # deliveries to hotels' systems (webhooks/)
        checkout.provision(db)  # the provider's events by payment (payments/checkout.py)
        rebuilt = cards.ensure(db)
        if rebuilt:
            log(f"search cards: {rebuilt} rebuilt from the catalogue")
        if app.config.get("ADMIN_EMAIL") and app.config.get("ADMIN_PASSWORD"):
            accounts.ensure_admin(db, app.config["ADMIN_EMAIL"], app.config["ADMIN_PASSWORD"])


def seed_in_background(app):
    """Write the demo catalogue now, its inventory in a thread (nearest nights first)."""
    embedded.start_planned(app)
    with app.app_context():
        db = app.data.driver.db
        try:
            plan = seed.seed_catalogue(db)
        except seed.SeedRefused as refused:  # the API serves on, without demo data
            print(refused, flush=True)
            return
    print(seed.describe(plan), flush=True)
    if plan["skipped"]:
        return

    def load():
        def log(line):
            print(line, flush=True)

        log(
            f"demo year: loading {plan['inventory_rows']} inventory rows and their bookings in "
            "the background, the coming nights first; the API is already serving"
        )
        try:
            with app.app_context():  # its batches make the cached answers stale
                seconds = seed.load_year(db, plan, log=log)
        except seed.SeedRefused as refused:
            log(str(refused))
            return
        log(
            f"demo year: complete in {seconds} s ({plan['inventory_rows']} inventory rows, "
            f"{plan['bookings']} bookings, {plan['payments']} payments, "
            f"{plan['reviews']} reviews, KPIs)"
        )

    threading.Thread(target=load, daemon=True, name="demo-inventory").start()


def banner(config):
    base = f"http://{config['HOST']}:{config['PORT']}"
    lines = [
        "",
        "Innkeeper is serving",
        f"  API        {base}/api/v1",
        f"  docs       {base}/api/v1/docs  (browsable: open any API URL in a browser)",
        f"  admin      {base}/admin",
        f"  health     {base}/health",
        f"  MongoDB    {config['MONGO_URI']}  (database {config['MONGO_DBNAME']})",
        f"  Redis      {config['REDIS_URL']}",
        f"  mail       {config['SMTP_URL']}"
        + (
            "  (kept in DATA_DIR/mail, shown in the admin's outbox)"
            if config.get("EMBEDDED")
            else ""
        ),
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


def init_app(app):
    cli = app.cli

    @cli.command("provision")
    def provision_command():
        """Create the domain's indexes, validators and views, and the configured admin."""
        provision(app, log=click.echo)
        click.echo("provisioned")
