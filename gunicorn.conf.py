"""gunicorn's settings for Innkeeper (gunicorn reads ./gunicorn.conf.py by itself): the
workers share one metrics directory, and a worker told to stop drains first.

- PROMETHEUS_MULTIPROC_DIR: every worker writes its samples there and /metrics adds
  them up (prometheus_client's multiprocess mode); emptied at start, a dead worker's
  gauges are dropped.
- LIVE_STREAMS: capped at half the worker's threads (a stream holds one).
- The search read model (search/model.py) starts loading in each worker as it starts.
- SIGTERM: gunicorn stops accepting, lets the workers finish their requests within
  graceful_timeout (SHUTDOWN_SECONDS), then exits. Each worker also marks itself
  draining, so /health/ready answers 503 and live status streams end (clients
  reconnect elsewhere) instead of holding the shutdown to its deadline.
"""

import os
import shutil
import signal
import tempfile

metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "innkeeper-metrics")
)
shutil.rmtree(metrics_dir, ignore_errors=True)
os.makedirs(metrics_dir, exist_ok=True)

graceful_timeout = int(os.environ.get("SHUTDOWN_SECONDS", "25"))
# One JSON line per request comes from the app (plumbing/logs.py); gunicorn's own
# access line would repeat it without the request id.
accesslog = None


def post_worker_init(worker):
    app = worker.wsgi
    # A live status stream holds one of the worker's threads for its whole life: at most
    # half of them stream, so the other half always answer ordinary requests.
    streaming = max(0, worker.cfg.threads // 2)
    config = getattr(app, "config", {})  # (the benchmark's bare Flask app has no setting)
    if config.get("LIVE_STREAMS", 0) > streaming:
        config["LIVE_STREAMS"] = streaming
    previous = signal.getsignal(signal.SIGTERM)

    def drain(signum, frame):
        app.extensions["draining"].set()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, drain)
    # Each worker keeps its own search read model: loading starts now, not on the first
    # search (which, like every search until the model is loaded, reads MongoDB).
    if "search_model" in getattr(app, "extensions", {}):
        from run import start_search_model

        start_search_model(app)


def child_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
