"""Background jobs: each area declares its own beside its code (`JOBS`, with how often
it runs) and the worker (cli/worker.py) runs them, each on its own interval.

A job is `run(context) -> str | None`, the line to log when it did something. It must
be safe to run again (a pass that fails is tried again on its next turn) and must not
take long: the worker runs jobs one after another.
"""

import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog


@dataclass(frozen=True)
class JobContext:
    """What a job works with: the database and the app's services (its payment provider,
    for one), never a request."""

    db: Any
    services: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    name: str
    every: float  # seconds between the starts of two runs
    run: Callable[[JobContext], str | None]

    @property
    def slug(self):
        return self.name.replace(" ", "-").lower()


def due(jobs, last_started, now, every=None):
    """The jobs whose turn it is at `now` (monotonic seconds), in their declared order:
    never run, or started at least their interval ago (`every` overrides each one's)."""
    return [
        job
        for job in jobs
        if job.name not in last_started
        or now - last_started[job.name] >= (job.every if every is None else every)
    ]


def next_turn(jobs, last_started, every=None):
    """The monotonic time of the next job's turn."""
    return min(
        last_started.get(job.name, float("-inf")) + (job.every if every is None else every)
        for job in jobs
    )


class Background:
    """A job's work on a thread of its own, for work that can run long under a backlog
    (sending mail): the job only `kick`s it, so the worker's other jobs keep their turns.
    The thread runs `work()` again while it returns something truthy (it did something,
    so more may be due), then ends until the next kick."""

    def __init__(self, name):
        self.name = name
        self._lock = threading.Lock()
        self._thread = None
        self._stop = threading.Event()

    def kick(self, work):
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, args=(work,), name=self.name, daemon=True
            )
            self._thread.start()
            return True

    def _loop(self, work):
        while not self._stop.is_set():
            try:
                if not work():
                    return
            except Exception:  # noqa: BLE001 - the next kick tries again
                structlog.get_logger().exception(f"{self.name} failed")
                return

    def stop(self):
        """Let the work in hand finish, start no more (shutdown, tests)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(30)
        self._thread = None


def claim(collection, ids, now, owner, lease_seconds):
    """Claim a batch of queued documents (an outbox's, a delivery queue's) in one guarded
    update - each still due (`next_at` passed: one done since has none, one another
    worker took has its lease) - and read back those this claim took, in the order of
    `ids`: two commands a batch. They are `sending` under a lease of `lease_seconds`;
    after it, they are due again (a worker that died mid-batch loses nothing)."""
    if not ids:
        return []
    claimed_by = f"{owner}:{uuid.uuid4().hex[:12]}"
    # One $in, on _id: the embedded server's planner walks no index for a filter with two.
    collection.update_many(
        {"_id": {"$in": ids}, "next_at": {"$lte": now}},
        {
            "$set": {
                "status": "sending",
                "claimed_by": claimed_by,
                "next_at": now + timedelta(seconds=lease_seconds),
            }
        },
    )
    taken = {d["_id"]: d for d in collection.find({"_id": {"$in": ids}, "claimed_by": claimed_by})}
    return [taken[i] for i in ids if i in taken]


def retry_at(now, attempts, first_seconds, last_seconds, rng=random):
    """When to try again after `attempts` failures: exponential backoff (first_seconds
    doubling, at most last_seconds) with full jitter, so a failing server or receiver is
    not hammered by every worker in step."""
    ceiling = min(last_seconds, first_seconds * 2 ** (attempts - 1))
    return now + timedelta(seconds=ceiling / 2 + rng.random() * ceiling / 2)
