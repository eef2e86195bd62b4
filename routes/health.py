"""Health for load balancers and orchestrators, and the metrics for Prometheus.

- GET /health/live: the process answers (no backend is asked): restart it when this
  fails.
- GET /health/ready: send it traffic? MongoDB and Redis answer within PROBE_SECONDS,
  the database is provisioned for this build's domain, and the node is not shutting
  down (503 with the reasons otherwise).
- GET /health: MongoDB and Redis reachable (the contract's original probe).
- GET /metrics: Prometheus text format, from METRICS_NETWORKS or with METRICS_TOKEN.
"""

from flask import Blueprint, Response, current_app, request

from plumbing import metrics, openapi, probes, provisioning
from plumbing.errors import Refusal
from plumbing.responses import respond

bp = Blueprint("health", __name__)
NO_STORE = {"Cache-Control": "no-store"}


def _backends():
    return {
        "mongo": probes.mongo(current_app.data.driver.db, current_app.logger),
        "redis": probes.redis(current_app.redis, current_app.logger),
    }


def _verdict(report, up, down, fine=("ok",)):
    """200 with `up` when every check is fine, else 503 with `down` and Retry-After."""
    failing = [name for name, state in report.items() if state not in fine]
    headers = dict(NO_STORE, **({"Retry-After": "5"} if failing else {}))
    return respond({"status": down if failing else up, **report}, 503 if failing else 200, headers)


@bp.get("/health")
def health():
    return _verdict(_backends(), "ok", "down")


@bp.get("/health/live")
def live():
    return respond({"status": "alive"}, 200, NO_STORE)


@bp.get("/health/ready")
def ready():
    report = _backends()
    if report["mongo"] == "ok":
        report["provisioning"] = probes.provisioning(
            current_app.data.driver.db, current_app.extensions["domain_fingerprint"]
        )
    report["shutdown"] = "draining" if current_app.extensions["draining"].is_set() else "no"
    return _verdict(report, "ready", "not ready", fine=("ok", "no"))


@bp.get("/metrics")
def scrape():
    if not metrics.may_scrape(
        current_app.config, request.remote_addr, request.headers.get("Authorization", "")
    ):
        raise Refusal(
            403,
            "metrics are served to the networks in METRICS_NETWORKS or with METRICS_TOKEN",
        )
    body, content_type = metrics.exposition()
    return Response(body, 200, {"Content-Type": content_type, **NO_STORE})


def init_app(app):
    app.extensions["domain_fingerprint"] = provisioning.fingerprint()


_STATUS = {
    "description": "Each check by name",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
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
    "/health/live": {
        "get": {
            "tags": ["operations"],
            "summary": "Liveness: the process answers (asks no backend). Restart it if not.",
            "responses": {"200": _STATUS},
        }
    },
    "/health/ready": {
        "get": {
            "tags": ["operations"],
            "summary": "Readiness: MongoDB and Redis answer, the database is provisioned "
            "for this build's domain, the node is not shutting down.",
            "responses": {
                "200": _STATUS,
                "503": {**_STATUS, "description": "Not ready; the body names why"},
            },
        }
    },
    "/metrics": {
        "get": {
            "tags": ["operations"],
            "summary": "Prometheus metrics of this node (all its workers), from "
            "METRICS_NETWORKS or with METRICS_TOKEN as a bearer token.",
            "responses": {
                "200": {
                    "description": "Prometheus text exposition format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **openapi.responses(403),
            },
        }
    },
}
