"""Bad input never yields a 500 nor a half-written document, on any route."""

import pytest

RESOURCES = ["hotels", "room-types", "inventory", "bookings", "payments", "reviews", "users"]


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"a string"', "application/json"),
        ("null", "application/json"),
        ("name=x", "application/x-www-form-urlencoded"),
        ('{"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}', "application/json"),
        ('{"$where": "1", "name": {"$gt": ""}}', "application/json"),
        ('{"name.first": 1, "address.city": {"$ne": 1}}', "application/json"),
    ],
)
def test_malformed_bodies_are_4xx(admin, db, resource, data, content_type):
    response = admin.flask.post(
        f"/api/v1/{resource}",
        data=data,
        headers={"Authorization": f"Bearer {admin.token}", "Content-Type": content_type},
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json["_status"] == "ERR"
    assert "Traceback" not in response.text
    collection = resource.replace("-", "_")
    expected = 1 if collection == "users" else 0  # the admin's own account
    assert db[collection].count_documents({}) == expected


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize(
    "query",
    [
        "where={bad",
        "where=[1]",
        'where={"_id": {"$in": "x"}}',
        "sort=[(",
        'sort=[["name", 7]]',
        "projection={bad",
        'projection={"name": "yes"}',
        "embedded={bad",
        'embedded={"nope": 1}',
        "page=-1",
        "page=abc",
        "max_results=abc",
        "max_results=-5",
    ],
)
def test_malformed_queries_are_4xx(admin, resource, query):
    response = admin.get(f"{resource}?{query}")
    assert response.status_code < 500, (response.status_code, response.text)
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "hotels/not-an-id",
        "hotels/6740f0c2a1b2c3d4e5f60718",
        "room-types/zzz",
        "bookings/123",
        "nope",
        "availability?check_in=x",
    ],
)
def test_bad_paths_are_4xx(admin, path):
    response = admin.get(path)
    assert 400 <= response.status_code < 500
    assert response.json["_status"] == "ERR"


def test_validation_message_names_the_fields(admin):
    response = admin.post("hotels", {"name": "", "address": {"city": "Paris", "country": "XX"}})
    assert response.status_code == 422
    message = response.json["_error"]["message"]
    assert "name" in message and "address" in message


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("availability", {"GET", "HEAD", "OPTIONS"}), ("hotels", {"GET", "HEAD", "OPTIONS", "POST"})],
)
def test_unknown_method_is_405_with_allow(admin, path, allowed):
    response = admin.put(path, {})
    assert response.status_code == 405
    assert response.json["_error"]["code"] == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
