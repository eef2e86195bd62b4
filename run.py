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
import mail
import pages
import payments
import routes
import settings
import webhooks
from identity import authentication
from plumbing import embedded, http, jobs, logs, probes, ratelimit, readcache, responses, versions
from plumbing.datalayer import MongoLayer
from plumbing.eve_settings import eve_settings
from plumbing.validation import Validator
from plumbing.watermark import WATERMARK
from search.answers import AnswerCache
from search.model import ReadModel
from webhooks.delivery import Senders


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
        auth=authentication.BearerAuth,
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
    app.extensions["payment_provider"] = payments.build(config)
    app.extensions["mail"] = mail.settings_of(config)
    app.extensions["webhooks"] = webhooks.settings_of(config)
    app.extensions["webhook_senders"] = Senders()  # the worker's, started by its job
    app.extensions["mail_sender"] = jobs.Background("mail-delivery")  # the same, for mail
    app.extensions["answers"] = AnswerCache(
        app.redis,
        prefix=f"innkeeper:{config['MONGO_DBNAME']}",
        ttl=config["SEARCH_CACHE_SECONDS"],
        enabled=config["SEARCH_CACHE"],
        watermark=WATERMARK,
    )
    app.extensions["search_model"] = ReadModel(
        enabled=config["SEARCH_MODEL"], wait=config["SEARCH_MODEL_WAIT_MS"] / 1000
    )
    ratelimit.identify_callers(app, authentication.bearer_subject)
    for part in (responses, http, hooks, routes, pages, ratelimit, readcache, cli):
        part.init_app(app)
    # Registered last so it runs first: no hook records an answer it is about to replace.
    app.after_request(http.answer_outages)
    # And this one before it: the hooks' edits of an Eve answer, encoded once.
    app.after_request(responses.write_json_edits)
    # Versions side by side: a later version's requests and answers transformed to and
    # from the one implementation (domain/versions.py, plumbing/versions.py).
    app.wsgi_app = versions.Versions(app.wsgi_app, app.config.get("MAX_CONTENT_LENGTH"))
    return app


def start_search_model(app):
    """Begin loading the search read model now (a server at start-up), rather than on the
    first search; searches read the database until it has loaded."""
    with app.app_context():
        app.extensions["search_model"].start(app.data.driver.db)


def close_app(app):
    """Release the app's MongoDB and Redis connections (tests, CLI commands)."""
    served = app.extensions.get("live_streams")
    if served is not None:
        served.feed.stop()
    app.extensions["search_model"].stop()
    app.extensions["webhook_senders"].stop()
    app.extensions["mail_sender"].stop()
    for client, _db in app.extensions.get("pymongo", {}).values():
        client.close()
    app.redis.close()  # the answer caches' and the rate limiter's


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


class InFlight:
    """WSGI middleware keeping the requests being answered (a streamed body counts until
    it is closed), so a shutdown can wait for them and name those it gave up on."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.requests = {}
        self.idle = threading.Condition()

    @property
    def count(self):
        return len(self.requests)

    def __call__(self, environ, start_response):
        key = object()
        with self.idle:
            self.requests[key] = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        try:
            body = self.wsgi_app(environ, start_response)
        except BaseException:
            self._done(key)
            raise
        return _Closing(body, lambda: self._done(key))

    def _done(self, key):
        with self.idle:
            self.requests.pop(key, None)
            self.idle.notify_all()

    def wait_idle(self, seconds):
        """True when every request finished within `seconds`."""
        with self.idle:
            return self.idle.wait_for(lambda: not self.requests, timeout=seconds)


class _Closing:
    """The app's body; the request is done when the body is exhausted or closed,
    whichever comes first. Werkzeug skips close() when the client left early (reading
    the dropped socket raises first), so the end of the iteration closes the body too
    (a file sent stays open otherwise until the garbage collector finds it); once."""

    def __init__(self, body, on_done):
        self.body, self.on_done, self.done, self.closed = body, on_done, False, False

    def _finish(self):
        if not self.done:
            self.done = True
            self.on_done()

    def __iter__(self):
        try:
            yield from self.body
        finally:
            self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self._finish()


def main():
    """Serve on HOST:PORT. On SIGTERM (or Ctrl-C): stop accepting, answer the requests in
    flight within SHUTDOWN_SECONDS, stop the jobs, then the embedded servers."""
    from werkzeug.serving import make_server

    try:
        config = settings.load()
        refuse_busy_port(config["HOST"], config["PORT"])
        started = embedded.ensure_servers(config)
    except (settings.ConfigError, embedded.EmbeddedServerError) as error:
        sys.exit(f"innkeeper: {error}")
    log = logs.LOG
    stopping = threading.Event()
    try:
        app = create_app(config)
        cli.provision(app)
        start_search_model(app)
        if config["SEED_DEMO"]:
            cli.seed_in_background(app)
        sweeper = threading.Thread(target=cli.run_jobs, args=(app, stopping), daemon=True)
        sweeper.name = "worker-jobs"
        sweeper.start()
        in_flight = InFlight(app)
        server = make_server(config["HOST"], config["PORT"], in_flight, threaded=True)

        def stop(signum, frame):  # noqa: ARG001
            if stopping.is_set():
                return
            stopping.set()
            app.extensions["draining"].set()  # /health/ready says 503 from now on
            log.info("shutdown: draining", signal=signal.Signals(signum).name)
            # shutdown() waits for serve_forever, which runs in this (the main) thread.
            threading.Thread(target=server.shutdown, name="shutdown").start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(cli.banner(config), flush=True)
        server.serve_forever(poll_interval=0.1)  # a drain starts within 0.1 s
        # No new connection is taken from here: those waiting in the backlog are refused
        # at once (the client may retry elsewhere) rather than left to time out.
        server.socket.close()
        finished = in_flight.wait_idle(config["SHUTDOWN_SECONDS"])
        log.info(
            "shutdown: done" if finished else "shutdown: deadline passed",
            unfinished=sorted(in_flight.requests.values()),
        )
        server.server_close()
        # A job in progress finishes its transaction; one stuck on a database that is
        # gone cannot, and the process does not wait for it (the thread is a daemon).
        with app.app_context():
            gone = probes.database_known_down(app.data.driver.db.client)
        sweeper.join(0.5 if gone else 10)
    except KeyboardInterrupt:  # Ctrl-C before serving began
        pass
    finally:
        for child in reversed(started):
            child.stop()


if __name__ == "__main__":
    main()
