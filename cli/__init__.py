"""Commands (`flask --app run <command>`) and the jobs `make run` starts beside the server.

Kept apart from the factory (amivapi's cli.py does the same): `create_app` calls
`init_app`, which has each module register its commands:

- start.py: `provision`, and what run.py's entry point does at start-up (provision,
  seed the demo in the background, the banner);
- worker.py: the worker and its jobs, which each area declares beside its code
  (`JOBS` in booking/holds.py, payments/fees.py, reporting/kpis.py, reporting/flat.py);
- data.py: `seed`, `reconcile`, `export`;
- domain.py: `domain check | diff | apply` and `openapi`.
"""

from cli import data, domain, start, worker
from cli.start import banner, provision, seed_in_background
from cli.worker import JOBS, run_jobs

__all__ = ["JOBS", "banner", "init_app", "provision", "run_jobs", "seed_in_background"]


def init_app(app):
    """Register every command on the app."""
    for module in (start, worker, data, domain):
        module.init_app(app)
