"""`python run.py` (what `make run` starts): embedded servers, clean stop, data kept."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from plumbing import embedded, probes, processes
from plumbing.embedded import free_port, port_open
from tests.recording import recorded

ROOT = Path(__file__).resolve().parent.parent


def _call(base, path, body=None, token=None):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _start(env, session=False):
    """run.py, healthy; `session`: in a process group of its own, as a terminal runs it."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=session,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("run.py exited early:\n" + process.stdout.read())
        try:
            if _call(base, "/health")[0] == 200:
                return process, base
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    pytest.fail("run.py did not become healthy")


def _stop(process, within=30):
    """SIGTERM, then wait (bounded: TimeoutExpired fails the test) for the exit."""
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=within)
    return process.returncode, output


@pytest.mark.slow
def test_serves_stops_cleanly_and_keeps_data(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MONGO_URI", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "PAYMENT_WEBHOOK_SECRET")
    }
    mongo_port, redis_port = free_port(), free_port()
    env.update(
        DATA_DIR=str(tmp_path / "var"),
        PORT=str(free_port()),
        SEED_DEMO="0",
        EMBEDDED_MONGO_PORT=str(mongo_port),
        EMBEDDED_REDIS_PORT=str(redis_port),
        EMBEDDED_SMTP_PORT=str(free_port()),
    )

    process, base = _start(env)
    status, health = _call(base, "/health")
    assert (status, health) == (200, {"status": "ok", "mongo": "ok", "redis": "ok"})
    account = {"email": "kept@example.com", "password": "a long password", "name": "Kept"}
    assert _call(base, "/api/v1/auth/register", account)[0] == 201
    status, token = _call(base, "/api/v1/auth/token", account | {"name": None})
    assert status == 200
    code, output = _stop(process)
    assert code == 0, output
    assert f"mongodb://127.0.0.1:{mongo_port}" in output  # analysts are told where to connect
    assert not port_open(mongo_port) and not port_open(redis_port)
    assert not port_open(int(env["EMBEDDED_SMTP_PORT"]))  # the SMTP server stopped too

    process, base = _start(env)
    try:
        # Same data dir: the account survives and tokens signed before still verify.
        status, me = _call(base, "/api/v1/me", token=token["access_token"])
        assert (status, me["email"]) == (200, "kept@example.com")
    finally:
        _stop(process)


def test_building_an_app_touches_no_database(app_config):
    """Provisioning is a step of its own: an app builds with its database unreachable,
    and answers 503 (not 500) until it is there."""
    from plumbing.embedded import free_port
    from run import close_app, create_app

    dead = f"mongodb://127.0.0.1:{free_port()}/"
    app = create_app(dict(app_config, MONGO_URI=dead, QUERY_TIMEOUT_MS=500))
    try:
        response = app.test_client().get("/api/v1/hotels")
        assert response.status_code == 503
        assert response.json["_error"]["message"] == "the database is unreachable; retry shortly"
    finally:
        close_app(app)


def test_mongodb_down_answers_503_at_once_then_recovers(app_config, tmp_path):
    """Stop the real embedded MongoDB mid-run, then start it again on the same port."""
    import time

    from plumbing import embedded
    from run import close_app, create_app

    mongo = embedded.mongo_server(tmp_path, embedded.free_port(), in_memory=True).start()
    app = create_app(dict(app_config, MONGO_URI=embedded.mongo_uri(mongo.port)))
    try:
        http = app.test_client()
        assert http.get("/api/v1/hotels").status_code == 200
        mongo.stop()
        assert http.get("/api/v1/hotels").status_code == 503  # the driver sees it fail
        # Known down (every server failed, none answered since): requests short-circuit.
        with app.app_context():
            assert probes.database_known_down(app.data.driver.db.client)
        # From then on a request does not wait on the database: it sends it nothing.
        with recorded() as commands:
            for _ in range(3):
                down = http.get("/api/v1/hotels")
                assert down.status_code == 503, down.json
                assert down.headers["Retry-After"] == "5"
                message = down.json["_error"]["message"]
                assert message == "the database is unreachable; retry shortly"
            health = http.get("/health")
        assert health.status_code == 503 and health.json["mongo"] == "down"
        assert [name for name, _command in commands if name != "ping"] == []
        mongo.start()
        deadline = time.monotonic() + 15
        while http.get("/api/v1/hotels").status_code != 200:
            assert time.monotonic() < deadline, "the API did not notice MongoDB came back"
            time.sleep(0.2)
        assert http.get("/health").status_code == 200
    finally:
        close_app(app)
        mongo.stop()


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URI", "REDIS_URL", "SMTP_URL")}
    env.update(
        DATA_DIR=str(tmp_path / "var"),
        PORT=str(free_port()),
        EMBEDDED_MONGO_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
        EMBEDDED_SMTP_PORT=str(free_port()),
        SEED_DEMO="0",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _refused(env, within=60):
    """run.py that must refuse to start: its exit and what it said (within `within` s,
    or TimeoutExpired fails the test)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=within,
    )


def test_another_projects_database_on_the_embedded_port_is_refused(servers, tmp_path):
    """A forgotten port variable must not seed or migrate someone else's database."""
    foreign = servers["mongo"].port  # the test session's server: not this data dir's
    result = _refused(_env(tmp_path, EMBEDDED_MONGO_PORT=foreign), within=20)
    assert result.returncode != 0
    assert f"already answers on 127.0.0.1:{foreign}" in result.stderr
    assert "set EMBEDDED_MONGO_PORT to a free port, or set MONGO_URI" in result.stderr
    assert not (tmp_path / "var" / "mongo").exists()  # nothing was started


def test_a_busy_port_is_found_before_anything_starts(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = _env(tmp_path, PORT=port)
        result = _refused(env)
    assert result.returncode != 0
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert not port_open(int(env["EMBEDDED_MONGO_PORT"]))
    assert not (tmp_path / "var" / "logs").exists()  # no embedded server was started


def test_sigterm_stops_within_seconds_with_mongodb_dead(tmp_path):
    env = _env(tmp_path)
    process, base = _start(env)
    try:
        pid = int((tmp_path / "var" / "run" / "mongo.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)  # the database dies under the API
        while port_open(int(env["EMBEDDED_MONGO_PORT"])):
            time.sleep(0.05)
        # Until the driver has seen it fail, a request waits out its deadline (10 s); the
        # health probe's own check makes it see at once (and answers within its 1.5 s).
        deadline = time.monotonic() + 15
        while _call(base, "/health")[0] != 503:
            assert time.monotonic() < deadline, "the API never noticed the database died"
            time.sleep(0.1)
        status, body = _call(base, "/api/v1/hotels")
        assert status == 503 and body["_error"]["message"].startswith("the database")
    except BaseException:
        process.kill()  # a failed check leaves no server running
        process.communicate()
        raise
    code, _output = _stop(process, within=5)  # bounded: a hang fails here
    assert code == 0
    assert not port_open(int(env["PORT"]))
    assert not port_open(int(env["EMBEDDED_REDIS_PORT"]))
    assert not port_open(int(env["EMBEDDED_SMTP_PORT"]))


def test_stopping_a_dead_server_keeps_the_record_of_its_successor(tmp_path):
    """A Redis restarted by someone else on the same port keeps its pid file when the
    ChildServer of the one that died is stopped (else the next start refuses it)."""
    from plumbing import embedded

    port = free_port()
    first = embedded.redis_server(tmp_path, port, persist=False).start()
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait()
    second = embedded.redis_server(tmp_path, port, persist=False).start()
    try:
        first.stop()
        record = (tmp_path / "run" / "redis.pid").read_text().split()
        assert record[:2] == [str(second.process.pid), str(port)]
        assert embedded._ours(tmp_path, "redis", port)
    finally:
        second.stop()
    assert not (tmp_path / "run" / "redis.pid").exists()


def test_domain_check_starts_no_database(tmp_path):
    """`domain check` reads the domain files only: no embedded server starts for it."""
    mongo_port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URI", "REDIS_URL", "SMTP_URL")}
    env.update(
        DATA_DIR=str(tmp_path),
        EMBEDDED_MONGO_PORT=str(mongo_port),
        EMBEDDED_REDIS_PORT=str(redis_port),
        EMBEDDED_SMTP_PORT=str(free_port()),
    )
    checked = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "domain", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "domain OK" in checked.stdout
    assert not port_open(mongo_port) and not port_open(redis_port)
    assert not (tmp_path / "mongo").exists()


@pytest.mark.slow
def test_a_restart_right_after_kill_9_and_ctrl_c_to_the_process_group(tmp_path):
    env = _env(tmp_path)
    mongo, redis = int(env["EMBEDDED_MONGO_PORT"]), int(env["EMBEDDED_REDIS_PORT"])
    process, base = _start(env, session=True)
    process.kill()  # kill -9: the servers are told by their death signal, and exit
    process.communicate(timeout=10)
    # Started again at once, while the old servers may still be exiting: it waits for
    # them (no "not the embedded server of this data directory") and serves.
    process, base = _start(env, session=True)
    try:
        assert _call(base, "/health")[0] == 200
        run = tmp_path / "var" / "run"
        servers = [int((run / f"{k}.pid").read_text().split()[0]) for k in ("mongo", "redis")]
        # Ctrl-C signals the terminal's whole process group; the servers are not in it,
        # so they outlive the API's drain and are stopped by it afterwards.
        assert all(os.getpgid(pid) != os.getpgid(process.pid) for pid in servers)
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "shutdown: draining" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert not port_open(mongo) and not port_open(redis)


def test_a_zombie_server_process_is_not_taken_for_a_running_one(tmp_path):
    """In a container whose init does not reap, the orphaned server of a kill -9'd run
    stays a zombie: it answers kill(pid, 0) but serves nothing, and the next start must
    not wait on it (the first CI run waited 20 s, then refused its own data directory)."""
    child = subprocess.Popen(["true"])
    stat = Path(f"/proc/{child.pid}/stat")
    deadline = time.monotonic() + 10
    while stat.read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    try:
        os.kill(child.pid, 0)  # still there for the kernel
        run = tmp_path / "run"
        run.mkdir()
        port = free_port()
        # Recorded as this directory's server, for an API process (this one) that runs.
        (run / "mongo.pid").write_text(f"{child.pid} {port} {os.getpid()}\n")
        assert embedded._recorded(tmp_path, "mongo", port) is None
        assert processes.alive(os.getpid())
        assert processes.started(child.pid) is None  # an idempotency claim's owner: gone
    finally:
        child.wait()


def test_an_orphaned_server_that_will_not_exit_is_killed(tmp_path):
    """The embedded MongoDB was once seen hanging in its shutdown after its API's kill -9,
    its listener still open: the next start sends it SIGTERM again, then SIGKILL, instead
    of refusing to start after 20 s."""
    port = free_port()
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, socket, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen()\n"
            "print('listening', flush=True)\n"
            "time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    gone = subprocess.Popen(["true"])  # the API that was killed: no longer running
    gone.wait()
    try:
        assert stubborn.stdout.readline() == "listening\n"
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "mongo.pid").write_text(f"{stubborn.pid} {port} {gone.pid}\n")
        said = []
        assert embedded._end_orphan(
            tmp_path, "mongo", port, said.append, grace=0.2, after_signal=0.5
        )
        assert stubborn.wait(5) == -signal.SIGKILL  # SIGTERM was ignored
        assert said == [
            f"the last run's embedded mongo server (pid {stubborn.pid}) has not exited: SIGTERM",
            f"the last run's embedded mongo server (pid {stubborn.pid}) has not exited: SIGKILL",
        ]
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
        stubborn.stdout.close()
