"""The house rules the architecture map promises, checked on the source itself."""

import ast
import re
from pathlib import Path

import pytest

from domain import build_domain
from plumbing import jsonschema, provisioning

ROOT = Path(__file__).resolve().parent.parent
DRIVER_CALLS = {
    "find",
    "find_one",
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "aggregate",
    "count_documents",
    "estimated_document_count",
    "distinct",
    "bulk_write",
    "command",
    "find_one_and_update",
}


def _sources(*folders):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", list(_sources("hooks", "routes")), ids=lambda p: p.name)
def test_hooks_and_routes_run_no_queries(path):
    """A hook or a route calls its area's functions; the areas talk to MongoDB."""
    calls = [
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in DRIVER_CALLS
    ]
    assert calls == [], f"{path.relative_to(ROOT)} queries MongoDB itself: {calls}"


def test_areas_use_no_flask_request():
    """Business areas take plain values: no Flask request, session or g. One module is
    the exception by its nature: identity/authentication.py is Eve's auth class, which
    reads the request's credentials and tells the rest who is calling."""
    areas = ("catalogue", "booking", "search", "payments", "identity", "reviews", "demo")
    offenders = [
        str(path.relative_to(ROOT))
        for path in _sources(*areas)
        if re.search(r"^from flask import|^import flask", path.read_text(), re.M)
        and path != ROOT / "identity" / "authentication.py"
    ]
    assert offenders == []


def test_one_converter_walks_the_field_rules():
    """Only plumbing/jsonschema.py reads Cerberus field rules (plumbing/validation.py
    defines them); every other module reads the converter's JSON Schema."""
    cerberus_only = re.compile(
        r"""get\(["'](allowed|readonly|data_relation|maxlength|minlength|iso_\w+)["']\)"""
        r"""|(==|!=|in \(|in \[) ?["'](dict|money|day|point|objectid)["']"""
    )
    readers = [
        str(path.relative_to(ROOT))
        for folder in ("plumbing", "pages", "hooks", "routes")
        for path in _sources(folder)
        if cerberus_only.search(path.read_text())
        and path.name not in ("jsonschema.py", "validation.py")
    ]
    assert readers == []


def test_the_validator_the_document_and_the_forms_come_from_one_schema():
    hotels = build_domain()["hotels"]
    schema = jsonschema.resource_schema(hotels)
    validator = provisioning.json_schema("hotels")["$jsonSchema"]
    assert validator == jsonschema.bson_schema(schema)
    # the same enum, bound and requirement reach every output
    assert validator["properties"]["stars"] == {
        "bsonType": ["int", "long"],
        "minimum": 1,
        "maximum": 5,
        "description": "Official star rating, 1 to 5.",
    }
    assert schema["properties"]["stars"]["maximum"] == 5
    assert (
        validator["properties"]["address"]["properties"]["country"]["enum"]
        == (schema["properties"]["address"]["properties"]["country"]["enum"])
    )
    fields = {f["name"]: f for f in jsonschema.form_fields(schema)}
    assert fields["stars"]["maximum"] == 5 and fields["stars"]["input"] == "integer"
    assert fields["status"]["options"] == ["active", "inactive"]
    assert fields["managers"]["resource"] == "users"
    assert "rating" not in fields  # server-owned


def test_bson_types_for_what_json_spells_as_strings():
    schema = jsonschema.resource_schema(build_domain()["bookings"])
    validator = jsonschema.bson_schema(schema)["properties"]
    assert validator["room_type"]["bsonType"] == "objectId"
    assert validator["check_in"]["bsonType"] == "date"
    assert validator["total_price"]["bsonType"] == "decimal"
    assert validator["nightly_prices"]["items"]["properties"]["date"]["bsonType"] == "date"
    assert "_links" not in validator
    assert jsonschema.day_fields(schema) == {
        "check_in": True,
        "check_out": True,
        "nightly_prices": {"date": True},
        "rooms": {"nightly_prices": {"date": True}},
    }
    # A booking names its room either way; the validator wants at least one.
    assert jsonschema.bson_schema(schema)["anyOf"] == [
        {"required": ["room_type"]},
        {"required": ["rooms"]},
    ]


# What keeps derived data current: cache generations, search cards, KPI records. Only
# the areas' write functions call these; an entry point never decides what is stale.
INVALIDATION = {
    "bump",
    "bump_bookings",
    "bump_hotels",
    "bump_everything",
    "answer_cache",
    "answers_to_bump",
    "refresh_hotel",
    "drop_room_type",
    "record",
    "record_stay",
}


def _invalidations(source, names=None):
    """The calls of `names` (INVALIDATION by default) a module's source makes."""
    names = INVALIDATION if names is None else names
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in names:
                found.add(name)
    return sorted(found)


@pytest.mark.parametrize(
    "path",
    list(_sources("hooks", "routes", "pages", "cli")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_entry_point_invalidates_by_hand(path):
    """Hooks, routes, pages and the CLI call an area's write function, which keeps its
    derived copies itself (one write path per area)."""
    calls = _invalidations(path.read_text())
    assert calls == [], f"{path.relative_to(ROOT)} keeps derived data by hand: {calls}"


def test_the_invalidation_check_catches_a_bump():
    source = "def view():\n    answer_cache().bump_hotels(db(), [1])\n"
    assert _invalidations(source) == ["answer_cache", "bump_hotels"]


WRITE_CALLS = {"insert_one", "insert_many", "update_one", "update_many", "replace_one"}
WRITE_CALLS |= {"delete_one", "delete_many", "bulk_write", "find_one_and_update"}


@pytest.mark.parametrize(
    "path",
    list(_sources("hooks", "routes", "pages", "cli")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_areas_write_their_collections(path):
    """The admin, the CLI, hooks and routes change data through an area's functions (or
    Eve's, whose database events carry the area's rules), never with a driver call."""
    writes = _invalidations(path.read_text(), WRITE_CALLS)
    assert writes == [], f"{path.relative_to(ROOT)} writes MongoDB itself: {writes}"


def _root_packages():
    import configparser

    config = configparser.ConfigParser(inline_comment_prefixes=(";",))
    config.read(ROOT / ".importlinter")
    return config["importlinter"]["root_packages"].split()


def _lint_imports(tree):
    import subprocess
    import sys

    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache", "--config", str(ROOT / ".importlinter")],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


WRONG_WAY = [
    ("domain/fields.py", "from catalogue import rate_plans"),  # the domain imports an area
    ("catalogue/rules.py", "from booking import reservations"),  # a back-arrow between areas
    ("search/answers.py", "from booking import holds"),  # between independent areas
    ("plumbing/values.py", "from reporting import kpis"),  # plumbing imports an area
    ("booking/holds.py", "import routes.changes"),  # an area imports an entry point
    ("payments/providers.py", "from payments import stripe_provider"),
]


def test_a_wrong_way_import_fails_make_lint(tmp_path):
    """`make lint` runs lint-imports with .importlinter: the tree as it is keeps every
    contract, and one import the wrong way, even inside a function, breaks it."""
    import shutil

    for package in _root_packages():
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    kept = _lint_imports(tmp_path)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    for module, wrong_way in WRONG_WAY:
        source = tmp_path / module
        original = source.read_text()
        source.write_text(original + f"\n\ndef _late():\n    {wrong_way}\n")
        broken = _lint_imports(tmp_path)
        assert broken.returncode != 0 and "BROKEN" in broken.stdout, (module, broken.stdout)
        source.write_text(original)


def test_no_test_module_imports_another():
    """Shared helpers live in tests/factories.py and tests/support.py: a test module is
    never imported by another (its tests would be collected twice, its fixtures leak)."""
    offenders = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in (ROOT / "tests").rglob("*.py")
        for line in path.read_text().splitlines()
        if re.match(r"\s*(from tests(\.\w+)*\.test_\w+ import|import tests(\.\w+)*\.test_)", line)
    ]
    assert offenders == []


def test_jobs_run_each_on_their_own_interval():
    """The worker's schedule (plumbing/jobs.py) on a made-up clock: a job is due when
    never run or when its own interval has passed since it started."""
    from plumbing.jobs import Job, due, next_turn

    fast, slow = Job("fast", 5, print), Job("slow", 30, print)
    assert due([fast, slow], {}, 100.0) == [fast, slow]
    started = {"fast": 100.0, "slow": 100.0}
    assert due([fast, slow], started, 104.9) == []
    assert due([fast, slow], started, 105.0) == [fast]
    assert due([fast, slow], {"fast": 125.0, "slow": 100.0}, 130.0) == [fast, slow]
    assert next_turn([fast, slow], started) == 105.0
    assert due([fast, slow], started, 101.0, every=1) == [fast, slow]  # --interval


def test_every_area_job_is_in_the_worker():
    import cli
    from booking import holds
    from mail import follow, outbox, reminders
    from payments import fees
    from reporting import flat, kpis
    from webhooks import delivery, feed

    modules = (holds, fees, kpis, flat, follow, reminders, outbox, feed, delivery)
    declared = [job.name for module in modules for job in module.JOBS]
    assert [job.name for job in cli.JOBS] == declared
    assert {job.name: job.every for job in cli.JOBS}["fee collection"] == 30


def _timing_offences(tree):
    """Sleeps outside a polling loop, and comparisons of elapsed clock time."""
    import ast

    found = []

    def is_clock(node):
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("monotonic", "perf_counter", "time")
            and getattr(node.func.value, "id", None) == "time"
        )

    def visit(node, in_loop):
        for child in ast.iter_child_nodes(node):
            loop = in_loop or isinstance(child, ast.While | ast.For)
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "sleep"
                and getattr(child.func.value, "id", None) == "time"
                and not in_loop
            ):
                found.append(f"line {child.lineno}: a fixed sleep")
            if isinstance(child, ast.Compare) and any(
                isinstance(side, ast.BinOp)
                and isinstance(side.op, ast.Sub)
                and (is_clock(side.left) or is_clock(side.right))
                for side in (child.left, *child.comparators)
            ):
                found.append(f"line {child.lineno}: an assertion on elapsed time")
            visit(child, loop)

    visit(tree, False)
    return found


def test_no_timing_assertions_or_fixed_sleeps_in_tests():
    """Tests wait for a condition, bounded (conftest.wait_for, a polling loop, a
    timeout); what takes how long is measured in bench/, never asserted here."""
    import ast

    bad = "began = time.monotonic()\ntime.sleep(1)\nassert time.monotonic() - began < 1\n"
    polling = "while not done():\n    time.sleep(0.05)\n"
    assert len(_timing_offences(ast.parse(bad))) == 2  # the check sees both
    assert _timing_offences(ast.parse(polling)) == []
    offenders = [
        f"{path.relative_to(ROOT)} {offence}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for offence in _timing_offences(ast.parse(path.read_text()))
    ]
    assert offenders == []


def test_plumbing_names_no_resource():
    """Per-resource policy is declared in the domain (domain/policy.py) and read by
    plumbing/; no plumbing module spells a resource's name (or its Eve endpoint)."""
    import ast

    names = set(build_domain()) | {"search_rooms"}
    offenders = []
    for path in sorted((ROOT / "plumbing").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            spelled = node.value.split("|", 1)[0]
            if spelled in names:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert offenders == []
