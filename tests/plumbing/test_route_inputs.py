"""A custom route's documented input is the input it checks: every bound the OpenAPI
document states for a search parameter or a registration field is the bound the route
enforces (plumbing/bodies.py gives both from one schema)."""

import pytest

from plumbing.values import today


@pytest.fixture(scope="module")
def document(shared_app):
    with shared_app.test_client() as flask:
        return flask.get("/api/v1/openapi.json").json


def _parameters(document, path):
    return {p["name"]: p["schema"] for p in document["paths"][path]["get"]["parameters"]}


def _beyond(schema, text="a", pad="a"):
    """(a value at the documented bound, one just past it), as query text, or None;
    strings are `text` padded with `pad`."""
    if "maximum" in schema:
        top = schema["maximum"]
        past = top + 1 if schema.get("type") == "integer" else top + 0.5
        return str(top), str(past)
    if "maxLength" in schema:
        at = text + pad * (schema["maxLength"] - len(text))
        return at, at + pad
    return None


def test_every_search_bound_in_the_document_is_the_one_the_search_enforces(client, document):
    stay = {"check_in": today().plus(5).isoformat(), "check_out": today().plus(6).isoformat()}
    # max_km applies with near; the last page is reachable one offer a page.
    extra = {"max_km": {"near": "2.35,48.86"}, "page": {"max_results": "1"}}
    checked = []
    for name, schema in _parameters(document, "/api/v1/availability").items():
        bounds = _beyond(schema, *{"amenities": ("wifi", ",")}.get(name, ("a", "a")))
        if bounds is None:
            continue
        at, past = bounds
        base = {**stay, **extra.get(name, {})}
        inside = client.get("availability", query_string={**base, name: at})
        assert name not in (inside.json.get("_issues") or {}), (name, at, inside.json)
        outside = client.get("availability", query_string={**base, name: past})
        assert outside.status_code == 400 and name in outside.json["_issues"], (name, past)
        checked.append(name)
    # The bounds the issue found undocumented are documented now, and enforced.
    assert {"max_km", "city", "adults", "max_results", "amenities"} <= set(checked)
    assert _parameters(document, "/api/v1/availability")["max_km"]["exclusiveMinimum"] == 0
    assert "FR" in _parameters(document, "/api/v1/availability")["country"]["enum"]


def test_the_calendar_documents_what_it_enforces(client, document):
    schema = _parameters(document, "/api/v1/availability/calendar")["nights"]
    start = today().plus(5)
    span = {"from": start.isoformat(), "to": start.plus(3).isoformat()}
    at, past = _beyond(schema)
    assert (
        client.get("availability/calendar", query_string={**span, "nights": at}).status_code == 200
    )
    refused = client.get("availability/calendar", query_string={**span, "nights": past})
    assert refused.status_code == 400 and "nights" in refused.json["_issues"]


@pytest.mark.parametrize(
    ("path", "valid"),
    [
        (
            "/api/v1/auth/register",
            {"email": "ada@example.com", "password": "0123456789ab", "name": "Ada"},
        ),
    ],
)
def test_every_registration_bound_in_the_document_is_enforced(client, document, path, valid):
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    schema = body["schema"]
    assert set(schema["required"]) == set(valid) == set(schema["properties"])
    assert schema["additionalProperties"] is False
    for name, rules in schema["properties"].items():
        if "maxLength" in rules and name != "email":
            too_long = client.post(
                path.removeprefix("/api/v1/"), {**valid, name: "x" * (rules["maxLength"] + 1)}
            )
            assert too_long.status_code == 422 and name in too_long.json["_issues"], name
        if "minLength" in rules:
            too_short = client.post(
                path.removeprefix("/api/v1/"), {**valid, name: "x" * (rules["minLength"] - 1)}
            )
            assert too_short.status_code == 422 and name in too_short.json["_issues"], name
    assert schema["properties"]["password"]["maxLength"] == 256
    unknown = client.post("auth/register", {**valid, "role": "admin"})
    assert unknown.status_code == 422 and "role" in unknown.json["_issues"]


def test_the_password_change_documents_its_256_character_maximum(guest, document):
    body = document["paths"]["/api/v1/auth/password"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    top = schema["properties"]["new_password"]["maxLength"]
    assert top == 256 and schema["properties"]["new_password"]["minLength"] == 10
    too_long = guest.post(
        "auth/password", {"current_password": "whatever-it-is", "new_password": "x" * (top + 1)}
    )
    assert too_long.status_code == 422 and "new_password" in too_long.json["_issues"]
