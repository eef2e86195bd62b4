"""Real processes: /metrics adds up two gunicorn workers (prometheus_client's
multiprocess mode, gunicorn.conf.py), and SIGTERM drains a node - it stops taking
connections, finishes the requests in flight, exits 0 - leaving every booking either
committed or absent."""

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from identity.tokens import issue_token
from plumbing.embedded import free_port
from tests.conftest import wait_for, wait_until_serving
from tests.factories import stay
from tests.support import as_environment

ROOT = Path(__file__).resolve().parents[1]


def _env(app_config, **extra):
    env = dict(os.environ)
    env.update(as_environment(app_config))
    env.update(SEED_DEMO="0", LOG_FORMAT="json")
    env.update({k: str(v) for k, v in extra.items()})
    return env


@contextmanager
def serving(command, env, log_path):
    """Start `command`, wait until /health/live answers; yield (process, base URL)."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{env['PORT']}"
        try:
            wait_until_serving(process, base, path="/health/live")
            yield process, base
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(30)


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _total(text, name, **labels):
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.mark.slow
def test_metrics_add_up_across_two_gunicorn_workers(app_config, stock, tmp_path):
    room_type, start = stock(nights=6, allotment=3)
    port = free_port()
    env = _env(app_config, PORT=port, PROMETHEUS_MULTIPROC_DIR=tmp_path / "metrics")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--worker-class",
        "gthread",
        "--workers",
        "2",
        "--threads",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "run:create_app()",
    ]
    log_path = tmp_path / "gunicorn.log"

    def search_lines():
        lines = [
            json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")
        ]
        return [line for line in lines if line.get("route") == "/api/v1/availability"]

    with serving(command, env, log_path) as (_process, base):
        paths = [
            f"/api/v1/availability?hotel={room_type['hotel']}"
            f"&check_in={start.plus(i % 3).isoformat()}&check_out={start.plus(3).isoformat()}"
            for i in range(30)
        ]
        statuses = []
        # Batches until both workers have answered some (the kernel picks the worker).
        for _batch in range(10):
            threads = [
                threading.Thread(
                    target=lambda chunk=paths[i::6]: statuses.extend(
                        _get(base + p)[0] for p in chunk
                    )
                )
                for i in range(6)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            try:  # the workers' lines reach the log
                wait_for(lambda: len({line["pid"] for line in search_lines()}) == 2, 1)
                break
            except AssertionError:
                pass  # one worker took every request: another round
        requests = len(statuses)
        assert statuses == [200] * requests
        assert len({line["pid"] for line in search_lines()}) == 2, "one worker answered all"
        # Whichever worker answers the scrape, the figures are the node's.
        for _ in range(4):
            status, body = _get(base + "/metrics")
            assert status == 200
            text = body.decode()
            assert _total(text, "innkeeper_searches_total", kind="offers") == requests
            misses = _total(text, "innkeeper_searches_total", cache="miss")
            hits = _total(text, "innkeeper_searches_total", cache="hit")
            # 3 distinct queries: each missed once, or more when two workers computed it
            # at the same moment; the rest were hits.
            assert 3 <= misses < requests and misses + hits == requests
            assert (
                _total(
                    text,
                    "innkeeper_http_requests_total",
                    route="/api/v1/availability",
                    status="200",
                )
                == requests
            )
    searches = search_lines()
    assert len(searches) == requests
    assert len({line["request_id"] for line in searches}) == requests


def _book(base, body, token, outcomes):
    request = urllib.request.Request(
        base + "/api/v1/bookings",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            outcomes.append(response.status)
    except urllib.error.HTTPError as error:
        outcomes.append(error.code)
    except (ConnectionRefusedError, ConnectionResetError) as error:
        outcomes.append(type(error).__name__)  # never accepted: nothing was done
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        outcomes.append(type(reason).__name__)


@pytest.mark.slow
def test_sigterm_drains_in_flight_bookings_then_exits(app_config, app, login, stock, db, tmp_path):
    """Sixteen guests race for six rooms while the node gets SIGTERM: it exits 0 within
    its deadline, every answered booking is in the database, requests in flight at the
    signal are answered (their lines come after it), none is cut mid-answer, and every
    night's `booked` equals the live bookings (nothing half-written)."""
    room_type, start = stock(nights=2, allotment=6)
    body = stay(room_type, start, 2)
    tokens = [issue_token(login("guest").user, app.config["SECRET_KEY"], 600) for _ in range(16)]
    port = free_port()
    env = _env(app_config, PORT=port, SHUTDOWN_SECONDS=15)
    command = [sys.executable, str(ROOT / "run.py")]
    outcomes = []
    with serving(command, env, tmp_path / "run.log") as (process, base):
        threads = [
            threading.Thread(target=_book, args=(base, body, token, outcomes)) for token in tokens
        ]
        for thread in threads[:8]:
            thread.start()
        # Some answered, some in flight, the rest not yet sent when the SIGTERM comes.
        wait_for(lambda: outcomes, what="a first booking answered")
        for thread in threads[8:]:
            thread.start()
        process.send_signal(signal.SIGTERM)
        # The drain (15 s at most) and the exit, bounded: a hang fails the wait.
        assert process.wait(15 + 5) == 0
        for thread in threads:
            thread.join(60)
    answered = [o for o in outcomes if isinstance(o, int)]
    assert len(outcomes) == len(tokens)
    assert set(answered) <= {201, 409}, outcomes
    refused = [o for o in outcomes if not isinstance(o, int)]
    assert set(refused) <= {"ConnectionRefusedError", "ConnectionResetError"}, outcomes
    booked = db.bookings.count_documents({"status": "pending_payment"})
    assert booked == answered.count(201) >= 1
    for row in db.inventory.find({"room_type": db.room_types.find_one()["_id"]}):
        assert row["booked"] == booked
    lines = [
        json.loads(line)
        for line in (tmp_path / "run.log").read_text().splitlines()
        if line.startswith("{")
    ]
    events = [line["event"] for line in lines]
    assert "shutdown: draining" in events and "shutdown: done" in events
    after = events[events.index("shutdown: draining") :]
    assert "request" in after, "no request was in flight at the signal"


def test_gunicorn_workers_stream_on_half_their_threads_at_most(app_config):
    import importlib.util
    import signal
    from types import SimpleNamespace

    from run import close_app, create_app

    environ = dict(os.environ)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(conf)  # it sets PROMETHEUS_MULTIPROC_DIR for gunicorn
    finally:
        os.environ.clear()
        os.environ.update(environ)
    app = create_app(dict(app_config, LIVE_STREAMS=256))
    previous = signal.getsignal(signal.SIGTERM)
    try:
        conf.post_worker_init(SimpleNamespace(wsgi=app, cfg=SimpleNamespace(threads=8)))
        assert app.config["LIVE_STREAMS"] == 4  # the other 4 threads always serve
        # Another WSGI app under the same config (bench/baseline_app.py) starts too.
        bare = SimpleNamespace(wsgi=SimpleNamespace(config={}), cfg=SimpleNamespace(threads=8))
        conf.post_worker_init(bare)
    finally:
        signal.signal(signal.SIGTERM, previous)
        close_app(app)
