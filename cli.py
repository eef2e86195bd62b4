"""Commands (`flask --app run <command>`) and the jobs `make run` starts beside the server.

Kept apart from the factory (amivapi's cli.py does the same): `create_app` calls
`init_app` to register the commands; run.py's entry point uses `provision`,
`seed_in_background`, `run_jobs` and `banner`.
"""

import contextlib
import json
import signal
import sys
import threading

import click
import prometheus_client
from bson import ObjectId
from tqdm import tqdm

from booking import holds, reconcile
from catalogue import cards
from demo import seed
from identity import accounts
from payments import fees
from plumbing import embedded, logs, provisioning
from plumbing.probes import database_known_down
from plumbing.values import Day
from reporting import exports, flat, kpis


def provision(app, log=None):
    """The start-up step: indexes, validators, views, then the configured admin account."""
    log = log or app.logger.warning
    embedded.start_planned(app)
    with app.app_context():
        db = app.data.driver.db
        provisioning.provision(db, log=log)
        kpis.provision(db)  # the kept KPI collections (reporting/kpis.py)
        flat.provision(db)  # the analysts' kept bookings_flat (reporting/flat.py)
        rebuilt = cards.ensure(db)
        if rebuilt:
            log(f"search cards: {rebuilt} rebuilt from the catalogue")
        if app.config.get("ADMIN_EMAIL") and app.config.get("ADMIN_PASSWORD"):
            accounts.ensure_admin(db, app.config["ADMIN_EMAIL"], app.config["ADMIN_PASSWORD"])


def run_jobs(app, stop, interval, once=False, log=print):
    """The worker's jobs, every `interval` seconds until `stop` is set (the `make run`
    thread, and `flask --app run worker`): expire the holds that passed, then bring the
    KPIs up to date. A job that fails is logged and tried again on the next pass."""
    embedded.start_planned(app)
    with app.app_context():
        db = app.data.driver.db

        def expire():
            expired = holds.expire_due(db.client, db)
            if expired:
                log(f"hold sweeper: expired {expired} bookings")

        def refresh_kpis():
            kpis.refresh(db)

        def follow_bookings():
            # Not while the demo seed writes its year: the first pass after it rebuilds
            # once instead of following tens of thousands of bulk writes one by one.
            if not seed.loading(db):
                flat.drain(db, limit=flat.PASS_LIMIT)

        def collect_fees():
            collected = fees.collect_due(db, app.extensions["payment_provider"])
            if collected:
                log(f"fees: settled {collected} late-cancellation and no-show fees")

        jobs = (
            ("hold sweep", expire),
            ("fee collection", collect_fees),
            ("KPI refresh", refresh_kpis),
            ("bookings flat", follow_bookings),
        )
        while True:
            for name, job in jobs:
                if stop.is_set():  # shutting down: no new job starts
                    return
                if not once and database_known_down(db.client):
                    break  # each call would wait out server selection; the next pass retries
                logs.bind_job(name.replace(" ", "-").lower())  # its lines share an id
                try:
                    job()
                except Exception as error:  # noqa: BLE001 - keep going; the next pass retries
                    app.logger.error(f"{name} failed", exc_info=error)
            if once or stop.wait(interval):
                return


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
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


def init_app(app):
    """Register every command on the app."""
    cli = app.cli

    @cli.command("provision")
    def provision_command():
        """Create the domain's indexes, validators and views, and the configured admin."""
        provision(app, log=click.echo)
        click.echo("provisioned")

    @cli.command("seed")
    @click.option("--if-enabled", is_flag=True, help="only when SEED_DEMO=1")
    def seed_command(if_enabled):
        """Seed the demo catalogue and accounts into an empty database."""
        embedded.start_planned(app)
        if if_enabled and not app.config["SEED_DEMO"]:
            click.echo("SEED_DEMO is off; nothing seeded")
            return
        try:
            report = seed.seed_demo(app.data.driver.db, progress=True)
        except seed.SeedRefused as refused:
            click.echo(str(refused), err=True)
            sys.exit(2)
        click.echo(seed.describe(report))

    @cli.command("openapi")
    def openapi_command():
        """Print the OpenAPI 3.1 document."""
        from pages import docs

        click.echo(json.dumps(docs.openapi_document(app), indent=2))

    @cli.command("worker")
    @click.option("--interval", default=5.0, show_default=True, help="seconds between passes")
    @click.option("--once", is_flag=True, help="one pass, then exit")
    def worker_command(interval, once):
        """Provision, then every INTERVAL seconds: expire holds that passed (giving their
        nights back) and bring the KPIs up to date."""
        provision(app, log=click.echo)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if app.config["WORKER_METRICS_PORT"]:  # its own metrics: expired holds, retries
            prometheus_client.start_http_server(app.config["WORKER_METRICS_PORT"])
            click.echo(f"worker: metrics on :{app.config['WORKER_METRICS_PORT']}/metrics")
        click.echo(f"worker: holds and KPIs every {interval:g} s; Ctrl-C or SIGTERM stops it")
        with contextlib.suppress(KeyboardInterrupt):
            run_jobs(app, stop, interval, once=once, log=click.echo)

    @cli.command("reconcile")
    @click.option("--fix", is_flag=True, help="repair the drift found")
    def reconcile_command(fix):
        """Recompute inventory `booked` from live bookings, the search cards from the
        catalogue and the KPIs from both; report (and --fix) drift."""
        embedded.start_planned(app)
        drift = reconcile.reconcile(app.data.driver.db, fix=fix)
        for row in drift:
            click.echo(
                f"drift: room_type {row['room_type']} on {row['date']}: booked "
                f"{row['booked']}, live bookings {row['expected']}"
            )
        verb = "fixed" if fix else "found"
        click.echo(f"{len(drift)} inventory rows with drift {verb}")
        wrong, stray = cards.reconcile(app.data.driver.db, fix=fix, booked_drift=bool(drift))
        click.echo(f"{len(wrong) + len(stray)} search cards out of step with the catalogue {verb}")
        db = app.data.driver.db
        off = kpis.reconcile(db, fix=fix)
        for hotel, night, field, kept, recomputed in off[:20]:
            click.echo(
                f"drift: KPI {field} of hotel {hotel} on {night}: {kept}, recomputed {recomputed}"
            )
        click.echo(f"{len(off)} KPI values out of step with bookings and inventory {verb}")
        if (drift or wrong or stray or off) and not fix:
            sys.exit(1)

    @cli.command("export")
    @click.argument("kind", type=click.Choice(sorted(exports.KINDS)))
    @click.option("--from", "start", required=True, help="first night, YYYY-MM-DD")
    @click.option("--to", "end", required=True, help="night after the last, YYYY-MM-DD")
    @click.option("--city", help="only this city's hotels")
    @click.option("--hotel", help="only this hotel (id)")
    @click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv")
    @click.option("--out", type=click.File("w"), default="-", help="file (default: stdout)")
    def export_command(kind, start, end, city, hotel, fmt, out):
        """KPIs per hotel and night, or booked nights, as CSV or JSON lines."""
        try:
            first, after = Day.parse(start), Day.parse(end)
        except ValueError:
            raise click.BadParameter("dates are YYYY-MM-DD") from None
        if after <= first:
            raise click.BadParameter("--to must be after --from")
        if hotel and not ObjectId.is_valid(hotel):
            raise click.BadParameter("--hotel is a 24-character hotel id")
        embedded.start_planned(app)
        db = app.data.driver.db
        read = exports.kpi_rows if kind == "kpis" else exports.booking_rows
        rows = read(db, first, after, city=city, hotel=ObjectId(hotel) if hotel else None)
        with tqdm(unit=" rows", desc=f"export {kind}", file=sys.stderr) as bar:
            count = exports.write(rows, out, exports.KINDS[kind], fmt, progress=bar)
        click.echo(f"{count} rows", err=True)

    @cli.group("domain")
    def domain_group():
        """Check the domain, compare it with the database, apply it."""

    @domain_group.command("check")
    def domain_check():
        """Validate every domain module; messages name the file and field."""
        problems = provisioning.check_domain()
        for problem in problems:
            click.echo(problem)
        click.echo(f"{len(problems)} problems" if problems else "domain OK")
        sys.exit(1 if problems else 0)

    @domain_group.command("diff")
    def domain_diff():
        """What apply would change (indexes, validators and their violations, views)."""
        embedded.start_planned(app)
        changes = provisioning.plan(app.data.driver.db)
        for change in changes:
            click.echo(describe_change(change))
        click.echo(f"{len(changes)} changes" if changes else "the database matches the domain")

    @domain_group.command("apply")
    @click.option(
        "--set-default",
        "defaults",
        multiple=True,
        metavar="COLLECTION.FIELD=VALUE",
        help="value for documents lacking a newly required field (JSON or text)",
    )
    @click.option(
        "--migration",
        "migrations",
        multiple=True,
        metavar="NAME",
        help="run domain/migrations/NAME.py first",
    )
    def domain_apply(defaults, migrations):
        """Create indexes, set validators, refresh views; refuse to orphan documents."""
        embedded.start_planned(app)
        parsed = {}
        for item in defaults:
            field, sep, raw = item.partition("=")
            if not sep:
                raise click.BadParameter(f"{item!r}: expected COLLECTION.FIELD=VALUE")
            try:
                parsed[field] = json.loads(raw)
            except ValueError:
                parsed[field] = raw
        try:
            provisioning.apply(app.data.driver.db, parsed, migrations, log=click.echo)
            cards.domain_applied(app.data.driver.db)
        except (provisioning.RefusedMigration, ValueError) as error:
            click.echo(f"refused: {error}", err=True)
            sys.exit(2)
        click.echo("applied")


def describe_change(change):
    kind, where = change["kind"], change["collection"]
    if kind == "set validator":
        text = f"{where}: set the $jsonSchema validator"
        if change["violations"]:
            text += (
                f" - {change['violations']} existing documents would violate it, e.g. "
                + ", ".join(change["examples"])
            )
        return text
    if kind == "rename index":
        return f"{where}: index {change['from']} has the keys of {change['name']}; rename it"
    if kind == "view":
        return f"{where}: create or update the view on {change['on']}"
    return f"{where}: {kind} {change['name']} {change.get('keys', '')}"
