"""The app factory and the entry point: `python run.py` serves Innkeeper.

With MONGO_URI / REDIS_URL unset, the embedded servers are started (or reused when
already running) before the app is built; `flask --app run <command>` does the same.
"""

import contextlib
import json
import signal
import sys
import threading

import click
import redis
from eve import Eve

import settings
from domain import build_domain
from services import embedded, idempotency, identity, reservations, schema
from services.datalayer import MongoLayer
from services.payments import SandboxProvider
from services.validation import Validator

STANDARD_ERRORS = [400, 401, 403, 404, 405, 406, 409, 410, 412, 413, 415, 422, 428, 429, 500, 503]


def eve_settings(config):
    """Eve's settings: Eve conventions under /api/v1, strict concurrency, safe queries."""
    return {
        "DOMAIN": build_domain(),
        "MONGO_URI": config["MONGO_URI"],
        "MONGO_DBNAME": config["MONGO_DBNAME"],
        "MONGO_OPTIONS": {
            "connect": False,
            "tz_aware": False,
            "appname": "innkeeper",
            "uuidRepresentation": "standard",
            "serverSelectionTimeoutMS": 5000,
            "socketTimeoutMS": 30000,
        },
        "URL_PREFIX": "api",
        "API_VERSION": "v1",
        "DATE_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
        "IF_MATCH": True,
        "ENFORCE_IF_MATCH": True,
        "BANDWIDTH_SAVER": False,
        "HATEOAS": True,
        "PAGINATION_DEFAULT": 25,
        "PAGINATION_LIMIT": 100,
        "VALIDATION_ERROR_STATUS": 422,
        "STANDARD_ERRORS": STANDARD_ERRORS,
        "MONGO_QUERY_BLACKLIST": [
            "$where",
            "$regex",
            "$text",
            "$expr",
            "$function",
            "$accumulator",
            "$jsonSchema",
        ],
        "RENDERERS": ["eve.render.JSONRenderer"],
        "X_DOMAINS": None,
        "SCHEMA_ENDPOINT": None,
        "EMBEDDING": True,
        "SORTING": True,
        "PROJECTION": True,
        "UPSERT_ON_PUT": False,
        "TRANSPARENT_SCHEMA_RULES": False,
        "ALLOW_UNKNOWN": False,
        "NORMALIZE_DOTTED_FIELDS": True,
        "SOFT_DELETE": False,
        "OPLOG": False,
    }


def create_app(overrides=None):
    """Build the Innkeeper WSGI app from the environment, then the overrides."""
    config = settings.load()
    config.update(overrides or {})
    settings.check(config)
    if not config.get("MONGO_URI") or not config.get("REDIS_URL"):
        embedded.ensure_servers(config)

    from hooks import ratelimit
    from hooks import register as register_hooks
    from hooks.access import BearerAuth
    from routes import admin as admin_routes
    from routes import auth as auth_routes
    from routes import register as register_routes

    eve_config = eve_settings(config)
    # Indexes are ours to create (services/schema.py): Eve's start-up creation kills a
    # worker when an index with the same keys exists under another name.
    for settings_ in eve_config["DOMAIN"].values():
        settings_["mongo_indexes"] = {}
    eve_config.update({k: v for k, v in config.items() if k not in eve_config})
    app = Eve(
        import_name=__name__,
        settings=eve_config,
        validator=Validator,
        data=MongoLayer,
        auth=BearerAuth,
        redis=redis.Redis.from_url(
            config["REDIS_URL"], socket_timeout=0.5, socket_connect_timeout=0.5
        ),
    )
    app.config["INNKEEPER"] = config
    app.extensions["payment_provider"] = SandboxProvider(config["PAYMENT_WEBHOOK_SECRET"])
    register_hooks(app)
    register_routes(app)
    admin_routes.register(app)
    limiter = ratelimit.create(app)
    ratelimit.limit_blueprint(limiter, auth_routes.bp, config["AUTH_RATE_LIMIT"])
    app.extensions["innkeeper_limiter"] = limiter
    register_commands(app)
    with app.app_context():
        db = app.data.driver.db
        schema.ensure_indexes(db, log=app.logger.warning)
        schema.ensure_validators(db, log=app.logger.warning)
        schema.ensure_views(db)
        idempotency.ensure_indexes(db)
        if config.get("ADMIN_EMAIL") and config.get("ADMIN_PASSWORD"):
            identity.ensure_admin(db, config["ADMIN_EMAIL"], config["ADMIN_PASSWORD"])
    return app


def close_app(app):
    """Release the app's MongoDB and Redis connections (tests, CLI commands)."""
    for client, _db in app.extensions.get("pymongo", {}).values():
        client.close()
    app.redis.close()
    limiter = app.extensions.get("innkeeper_limiter")
    if limiter is not None:
        redis_client = getattr(limiter.storage, "storage", None)
        if redis_client is not None:
            redis_client.close()


def register_commands(app):
    @app.cli.command("seed")
    @click.option("--if-enabled", is_flag=True, help="only when SEED_DEMO=1")
    def seed_command(if_enabled):
        """Seed the demo catalogue and accounts into an empty database."""
        from services import seed

        if if_enabled and not app.config["SEED_DEMO"]:
            click.echo("SEED_DEMO is off; nothing seeded")
            return
        report = seed.seed_demo(app.data.driver.db, progress=True)
        click.echo(seed.describe(report))

    @app.cli.command("openapi")
    def openapi_command():
        """Print the OpenAPI 3.1 document."""
        click.echo(json.dumps(app.extensions["openapi"], indent=2))

    @app.cli.command("worker")
    @click.option("--interval", default=15.0, show_default=True, help="seconds between sweeps")
    @click.option("--once", is_flag=True, help="sweep once and exit")
    def worker_command(interval, once):
        """Expire holds that passed and give their nights back, every INTERVAL seconds."""
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        click.echo(f"hold sweeper: every {interval:g} s; Ctrl-C or SIGTERM stops it")
        with contextlib.suppress(KeyboardInterrupt):
            sweep_holds(app, stop, interval, once=once, log=click.echo)

    @app.cli.command("reconcile")
    @click.option("--fix", is_flag=True, help="repair the drift found")
    def reconcile_command(fix):
        """Recompute inventory `booked` from live bookings; report (and --fix) drift."""
        drift = reservations.reconcile(app.data.driver.db, fix=fix)
        for row in drift:
            click.echo(
                f"drift: room_type {row['room_type']} on {row['date']}: booked "
                f"{row['booked']}, live bookings {row['expected']}"
            )
        verb = "fixed" if fix else "found"
        click.echo(f"{len(drift)} inventory rows with drift {verb}")
        if drift and not fix:
            sys.exit(1)

    @app.cli.group("domain")
    def domain_group():
        """Check the domain, compare it with the database, apply it."""

    @domain_group.command("check")
    def domain_check():
        """Validate every domain module; messages name the file and field."""
        problems = schema.check_domain()
        for problem in problems:
            click.echo(problem)
        click.echo(f"{len(problems)} problems" if problems else "domain OK")
        sys.exit(1 if problems else 0)

    @domain_group.command("diff")
    def domain_diff():
        """What apply would change (indexes, validators and their violations, views)."""
        changes = schema.plan(app.data.driver.db)
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
            schema.apply(app.data.driver.db, parsed, migrations, log=click.echo)
        except (schema.RefusedMigration, ValueError) as error:
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


def sweep_holds(app, stop, interval, once=False, log=print):
    """Expire due holds until `stop` is set; a failed sweep is logged and retried."""
    with app.app_context():
        db = app.data.driver.db
        while True:
            try:
                expired = reservations.expire_due(db.client, db)
                if expired:
                    log(f"hold sweeper: expired {expired} bookings")
            except Exception:  # noqa: BLE001 - keep sweeping; the next pass retries
                app.logger.exception("hold sweep failed")
            if once or stop.wait(interval):
                return


def main():
    """Serve on HOST:PORT; stop the embedded servers on Ctrl-C or SIGTERM."""
    from werkzeug.serving import run_simple

    try:
        config = settings.load()
        started = embedded.ensure_servers(config)
    except (settings.ConfigError, embedded.EmbeddedServerError) as error:
        sys.exit(f"innkeeper: {error}")

    def stop(signum, frame):  # noqa: ARG001
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        app = create_app(config)
        from services import seed

        if config["SEED_DEMO"]:
            with app.app_context():
                db = app.data.driver.db
                plan = seed.seed_catalogue(db)
            print(seed.describe(plan), flush=True)
            if not plan["skipped"]:
                threading.Thread(
                    target=_load_demo_inventory,
                    args=(db, plan),
                    daemon=True,
                    name="demo-inventory",
                ).start()
        sweeper_stop = threading.Event()
        threading.Thread(
            target=sweep_holds, args=(app, sweeper_stop, 15), daemon=True, name="hold-sweeper"
        ).start()
        print(banner(config), flush=True)
        run_simple(config["HOST"], config["PORT"], app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        for server in reversed(started):
            server.stop()


def _load_demo_inventory(db, plan):
    from services import seed

    def log(line):
        print(line, flush=True)

    log(
        f"demo inventory: loading {plan['inventory_rows']} rows in the background, "
        "nearest nights first; the API is already serving"
    )
    seconds = seed.load_inventory(db, plan, log=log)
    log(f"demo inventory: complete ({plan['inventory_rows']} rows in {seconds} s)")


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


if __name__ == "__main__":
    main()
