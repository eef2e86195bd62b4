"""What the code relies on beyond its dependencies' public API (plumbing/datalayer.py's
docstring lists each with its reason): the pinned versions, and the internals as this
code uses them. An upgrade that changes any of them fails here first."""

import importlib.metadata
import inspect
import re
from pathlib import Path

import flask_admin
import pytest
from eve.io.mongo.mongo import Mongo

ROOT = Path(__file__).resolve().parents[2]
LOCK = (ROOT / "requirements.lock").read_text()


@pytest.mark.parametrize("package", ["eve", "pymongo", "flask-admin", "flask"])
def test_the_installed_version_is_the_pinned_one(package):
    pinned = re.search(rf"^{package}==(\S+)$", LOCK, re.M).group(1)
    assert importlib.metadata.version(package) == pinned


@pytest.mark.parametrize(
    ("method", "parameters"),
    [
        ("_change_request", ["self", "resource", "id_", "changes", "original", "replace"]),
        ("_datasource_ex", ["self", "resource", "query", "client_projection", "client_sort"]),
        ("insert", ["self", "resource", "doc_or_docs"]),
    ],
)
def test_eves_mongo_layer_has_the_methods_the_datalayer_extends(method, parameters):
    found = list(inspect.signature(getattr(Mongo, method)).parameters)
    assert found[: len(parameters)] == parameters


def test_eves_find_pages_as_the_datalayer_assumes():
    """_Page reads skip and limit from the request as Eve's find sets them."""
    source = inspect.getsource(Mongo.find)
    assert 'args["limit"] = req.max_results' in source
    assert 'args["skip"] = (req.page - 1) * req.max_results' in source


def test_a_pymongo_cursor_keeps_its_filter_where_the_count_reads_it(db):
    cursor = db.hotels.find({"stars": 4})
    assert cursor._spec == {"stars": 4}  # noqa: SLF001 - the point of the test


def test_the_admin_base_template_is_upstreams_with_a_language():
    upstream = Path(flask_admin.__file__).parent / "templates/bootstrap4/admin/base.html"
    ours = (ROOT / "pages/templates/admin/base.html").read_text()
    ours = ours.split("\n", 1)[1]  # its first line says what it is
    assert ours == upstream.read_text().replace("<html>", '<html lang="en">', 1)
