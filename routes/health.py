"""GET /health: is MongoDB reachable, is Redis reachable."""

from flask import Blueprint, current_app

from plumbing import probes
from plumbing.responses import respond

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    report = {
        "mongo": probes.mongo(current_app.data.driver.db, current_app.logger),
        "redis": probes.redis(current_app.redis, current_app.logger),
    }
    down = [name for name, state in report.items() if state != "ok"]
    report = {"status": "down" if down else "ok", **report}
    headers = {"Cache-Control": "no-store"}
    if down:
        headers["Retry-After"] = "5"
    return respond(report, 503 if down else 200, headers)


OPENAPI = {
    "/health": {
        "get": {
            "tags": ["operations"],
            "summary": "Are MongoDB and Redis reachable?",
            "responses": {
                "200": {
                    "description": "All up",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "status": {"const": "ok"},
                                    "mongo": {"type": "string"},
                                    "redis": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "503": {
                    "description": "Something is down; the body names it",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
            },
        }
    },
}
