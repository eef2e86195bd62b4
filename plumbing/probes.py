"""Is MongoDB reachable, is Redis reachable: "ok" or "down" (details go to the log), each
answered within PROBE_SECONDS whatever the server does.

Health checks are public and not rate limited, so a flood of them during an outage must
not hold every worker thread for PROBE_SECONDS: one probe of a backend runs at a time in
a process (the others answer with its last verdict), and a failure is remembered for
FAILURE_SECONDS (answered at once as "down").
"""

import threading
import time

import pymongo
from pymongo.server_type import SERVER_TYPE

from plumbing import provisioning as steps

PROBE_SECONDS = 1.5
# MongoDB known down (database_known_down): the ping is only there to wake the driver's
# monitor, so that it notices the server is back; its answer is not waited for long.
KNOWN_DOWN_PROBE_SECONDS = 0.3
FAILURE_SECONDS = 1.0


class Guard:
    """One backend's probes in this process: one at a time, failures remembered."""

    def __init__(self, clock=time.monotonic):
        self.lock = threading.Lock()
        self.last = None
        self.failed_at = None
        self.clock = clock  # monotonic seconds (tests hand in their own)

    def check(self, probe, logger):
        if self.failed_at is not None and self.clock() - self.failed_at < FAILURE_SECONDS:
            return "down"
        # Another thread is probing: its last verdict (a first probe waits for it).
        taken = (
            self.lock.acquire(timeout=PROBE_SECONDS * 2)
            if self.last is None
            else self.lock.acquire(blocking=False)
        )
        if not taken:
            return self.last or "down"
        try:
            probe()
            self.failed_at, self.last = None, "ok"
        except Exception:  # noqa: BLE001 - any failure means down
            logger.warning("health probe failed", exc_info=True)
            self.failed_at, self.last = self.clock(), "down"
        finally:
            self.lock.release()
        return self.last


_guards_lock = threading.Lock()


def database_known_down(client):
    """True when the driver has seen every server fail and none has answered since: a
    request would only wait out its deadline. (At start-up, before the first contact,
    servers are unknown but have no error: requests go ahead.)"""
    servers = client.topology_description.server_descriptions().values()
    return bool(servers) and all(
        s.server_type == SERVER_TYPE.Unknown and s.error is not None for s in servers
    )


def guard_of(target):
    """The guard of one backend client (a MongoClient, a Redis client), kept on it."""
    with _guards_lock:
        guard = getattr(target, "_innkeeper_probe_guard", None)
        if guard is None:
            guard = Guard()
            target._innkeeper_probe_guard = guard
        return guard


def mongo(db, logger):
    def ping():
        seconds = KNOWN_DOWN_PROBE_SECONDS if database_known_down(db.client) else PROBE_SECONDS
        with pymongo.timeout(seconds):
            db.command("ping")

    return guard_of(db.client).check(ping, logger)


def redis(client, logger):
    return guard_of(client).check(client.ping, logger)


def provisioning(db, expected):
    """ "ok" when the database was provisioned for this build's domain."""
    try:
        with pymongo.timeout(PROBE_SECONDS):
            found = steps.provisioned_for(db)
    except Exception:  # noqa: BLE001 - any failure means not ready
        return "down"
    if found is None:
        return "not provisioned: run flask --app run provision"
    if found != expected:
        return (
            "provisioned for another domain: run flask --app run domain apply, or "
            "deploy the build that matches"
        )
    return "ok"
