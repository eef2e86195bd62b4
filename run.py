"""The app factory and the entry point: `python run.py` serves Innkeeper (what `make run` does).

With MONGO_URI / REDIS_URL unset, the embedded servers are started (or reused when they
are this data directory's own) before the app is built; `flask --app run <command>` does
the same. Building an app touches no database: provisioning is a step of its own
(`cli.provision`), run here at start-up, by the worker and by `flask --app run provision`.
"""

import signal
import socket
import sys
import threading

import redis
from eve import Eve

import cli
import hooks
import pages
import routes
import settings
from payments import providers
from plumbing import embedded, http, logs, ratelimit, readcache, responses
from plumbing.auth import BearerAuth
from plumbing.datalayer import MongoLayer
from plumbing.eve_settings import eve_settings
from plumbing.validation import Validator
from search.answers import AnswerCache


def create_app(overrides=None):
    """Build the Innkeeper WSGI app from the environment, then the overrides."""
    config = settings.load()
    config.update(overrides or {})
    settings.check(config)
    # Embedded servers start on first use (a request, a command that needs them), not
    # here: `flask --app run domain check` reads files only.
    planned = embedded.plan_servers(config)
    app = Eve(
        import_name=__name__,
        settings=eve_settings(config),
        validator=Validator,
        data=MongoLayer,
        auth=BearerAuth,
        redis=redis.Redis.from_url(
            config["REDIS_URL"], socket_timeout=0.5, socket_connect_timeout=0.5
        ),
    )
    # First, so its before_request runs first and its after_request last: every line and
    # every answer, refusals included, carries the request's id.
    logs.init_app(app)
    app.extensions["draining"] = threading.Event()  # set on SIGTERM: not ready any more
    app.extensions["embedded_planned"] = planned
    if planned:
        app.before_request(lambda: embedded.start_planned(app))
    app.extensions["payment_provider"] = providers.build(config)
    app.extensions["answers"] = AnswerCache(
        app.redis,
        prefix=f"innkeeper:{config['MONGO_DBNAME']}",
        ttl=config["SEARCH_CACHE_SECONDS"],
        enabled=config["SEARCH_CACHE"],
    )
    for part in (responses, http, hooks, routes, pages, ratelimit, readcache, cli):
        part.init_app(app)
    # Registered last so it runs first: no hook records an answer it is about to replace.
    app.after_request(http.answer_outages)
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


def refuse_busy_port(host, port):
    """Found before any server starts or any seed runs, not after."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise settings.ConfigError(
                f"{host}:{port} is already in use: stop what listens there or set PORT "
                "(and HOST) to a free address"
            ) from None


def main():
    """Serve on HOST:PORT; stop the embedded servers on Ctrl-C or SIGTERM."""
    from werkzeug.serving import run_simple

    try:
        config = settings.load()
        refuse_busy_port(config["HOST"], config["PORT"])
        started = embedded.ensure_servers(config)
    except (settings.ConfigError, embedded.EmbeddedServerError) as error:
        sys.exit(f"innkeeper: {error}")

    def stop(signum, frame):  # noqa: ARG001
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        app = create_app(config)
        cli.provision(app)
        if config["SEED_DEMO"]:
            cli.seed_in_background(app)
        sweeper = threading.Thread(
            target=cli.run_jobs, args=(app, threading.Event(), 5), daemon=True
        )
        sweeper.name = "worker-jobs"
        sweeper.start()
        print(cli.banner(config), flush=True)
        run_simple(config["HOST"], config["PORT"], app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        for server in reversed(started):
            server.stop()


if __name__ == "__main__":
    main()
