"""API9 Improper Inventory Management: one versioned surface; nothing else answers."""

import pytest


@pytest.mark.parametrize(
    "path",
    [
        "/api/v0/hotels",
        "/api/v3/hotels",
        "/api/hotels",
        "/hotels",
        "/api/v1/admin",
        "/api/v2/admin",
        "/api/v1/oplog",
        "/api/v1/schema",
    ],
)
def test_only_api_v1_and_v2_serve(client, path):
    assert client.get(path).status_code == 404


def test_version_2_serves_what_version_1_does(client):
    assert client.get("/api/v2/hotels").status_code == 200


def test_sandbox_is_not_deployed_in_production(app_config):
    from run import close_app, create_app

    app = create_app(dict(app_config, EMBEDDED=False))
    try:
        assert not [r for r in app.url_map.iter_rules() if "sandbox" in r.rule]
    finally:
        close_app(app)
