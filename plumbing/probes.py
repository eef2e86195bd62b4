"""Is MongoDB reachable, is Redis reachable: "ok" or "down" (details go to the log), each
answered within PROBE_SECONDS whatever the server does."""

import pymongo

PROBE_SECONDS = 1.5


def _check(probe, logger):
    try:
        probe()
        return "ok"
    except Exception:  # noqa: BLE001 - any failure means down
        logger.warning("health probe failed", exc_info=True)
        return "down"


def mongo(db, logger):
    def ping():
        with pymongo.timeout(PROBE_SECONDS):
            db.command("ping")

    return _check(ping, logger)


def redis(client, logger):
    return _check(client.ping, logger)
