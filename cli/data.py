"""Data commands: seed the demo, reconcile derived data, export for analysts."""

import sys

import click
from bson import ObjectId
from tqdm import tqdm

from booking import reconcile
from catalogue import cards
from demo import seed
from plumbing import embedded
from plumbing.values import Day
from reporting import exports, kpis


def init_app(app):
    cli = app.cli

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
