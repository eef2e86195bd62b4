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


def provisioning(db, expected):
    """ "ok" when the database was provisioned for this build's domain."""
    from plumbing import provisioning as steps

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
