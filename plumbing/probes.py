"""Is MongoDB reachable, is Redis reachable: "ok" or "down" (details go to the log)."""


def _check(probe, logger):
    try:
        probe()
        return "ok"
    except Exception:  # noqa: BLE001 - any failure means down
        logger.warning("health probe failed", exc_info=True)
        return "down"


def mongo(db, logger):
    return _check(lambda: db.command("ping"), logger)


def redis(client, logger):
    return _check(client.ping, logger)
