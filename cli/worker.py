"""The worker: every area's jobs, each on its own interval, until stopped (the `make
run` thread, and `flask --app run worker` in production)."""

import contextlib
import signal
import threading
import time

import click
import prometheus_client

from booking import holds
from cli.start import provision
from demo import seed
from mail import follow as mail_feed
from mail import outbox, reminders
from payments import fees
from plumbing import embedded, jobs, logs
from plumbing.probes import database_known_down
from reporting import flat, kpis
from settings import ConfigError
from webhooks import delivery as webhook_delivery
from webhooks import feed as webhook_feed


def _unless_seeding(job):
    """Not while the demo seed writes its year: the first pass after it rebuilds once
    instead of following tens of thousands of bulk writes one by one."""

    def run(context):
        return None if seed.loading(context.db) else job.run(context)

    return jobs.Job(job.name, job.every, run)


JOBS = (
    *holds.JOBS,
    *fees.JOBS,
    *kpis.JOBS,
    *(_unless_seeding(job) for job in flat.JOBS),
    *mail_feed.JOBS,
    *reminders.JOBS,
    *outbox.JOBS,
    *webhook_feed.JOBS,
    *webhook_delivery.JOBS,
)
OUTAGE_PAUSE = 1.0  # seconds to wait after finding the database down


def selected_jobs(config):
    """JOBS but those WORKER_SKIP_JOBS names (another worker pool runs them, or a staging
    deployment sends no mail); an unknown name refuses to start, naming the known ones."""
    skipped = set(config.get("WORKER_SKIP_JOBS") or ())
    unknown = skipped - {job.name for job in JOBS}
    if unknown:
        raise ConfigError(
            f"WORKER_SKIP_JOBS names no job {', '.join(sorted(unknown))}; the jobs are "
            + ", ".join(job.name for job in JOBS)
        )
    return tuple(job for job in JOBS if job.name not in skipped)


def run_jobs(app, stop, interval=None, once=False, log=print):
    """Run JOBS until `stop` is set, each when its interval has passed since it last
    started (`interval` overrides every job's; `once`: each job once). A job that fails
    is logged and tried again on its next turn."""
    chosen = selected_jobs(app.config)
    if not chosen:  # every job runs elsewhere
        stop.wait()
        return
    embedded.start_planned(app)
    with app.app_context():
        context = jobs.JobContext(app.data.driver.db, app.extensions)
        started = {}
        while True:
            pause = 0.0
            turn = chosen if once else jobs.due(chosen, started, time.monotonic(), interval)
            for job in turn:
                if stop.is_set():  # shutting down: no new job starts
                    return
                if not once and database_known_down(context.db.client):
                    pause = OUTAGE_PAUSE  # each call would wait out server selection
                    break
                started[job.name] = time.monotonic()
                logs.bind_job(job.slug)  # its lines share an id
                try:
                    line = job.run(context)
                except Exception as error:  # noqa: BLE001 - keep going; its next turn retries
                    app.logger.error(f"{job.name} failed", exc_info=error)
                else:
                    if line:
                        log(line)
            if once:
                return
            wait = max(pause, jobs.next_turn(chosen, started, interval) - time.monotonic(), 0.01)
            if stop.wait(wait):
                return


def init_app(app):
    cli = app.cli

    @cli.command("worker")
    @click.option(
        "--interval",
        type=float,
        default=None,
        help="seconds between every job's runs (default: each job's own)",
    )
    @click.option("--once", is_flag=True, help="each job once, then exit")
    def worker_command(interval, once):
        """Provision, then run every area's jobs, each on its interval: expire holds that
        passed, charge fees left due, bring the KPIs and bookings_flat up to date."""
        provision(app, log=click.echo)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if app.config["WORKER_METRICS_PORT"]:  # its own metrics: expired holds, retries
            prometheus_client.start_http_server(app.config["WORKER_METRICS_PORT"])
            click.echo(f"worker: metrics on :{app.config['WORKER_METRICS_PORT']}/metrics")
        for job in selected_jobs(app.config):
            every = job.every if interval is None else interval
            click.echo(f"worker: {job.name} every {every:g} s")
        click.echo("worker: Ctrl-C or SIGTERM stops it")
        with contextlib.suppress(KeyboardInterrupt):
            run_jobs(app, stop, interval, once=once, log=click.echo)
