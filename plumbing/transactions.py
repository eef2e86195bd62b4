"""Run a unit of work in a MongoDB transaction, retrying conflicts with jittered backoff.

pymongo's with_transaction retries a write conflict at once, so many requests racing for
the same rows spin against the server; backing off lets the winner commit and the
losers find the rows taken on their next try.
"""

import contextlib
import random
import time

from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

MAX_SECONDS = 30
_FIRST_BACKOFF, _MAX_BACKOFF = 0.005, 0.25


def _transient(error):
    return isinstance(error, PyMongoError) and error.has_error_label("TransientTransactionError")


def run(client, unit, max_seconds=MAX_SECONDS):
    """unit(session) inside a transaction; its return value once committed."""
    deadline = time.monotonic() + max_seconds
    backoff = _FIRST_BACKOFF
    while True:
        with client.start_session() as session:
            try:
                session.start_transaction()
                result = unit(session)
                _commit(session, deadline)
                return result
            except BaseException as error:
                if session.in_transaction:
                    with contextlib.suppress(PyMongoError):
                        session.abort_transaction()
                if not _transient(error) or time.monotonic() > deadline:
                    raise
        time.sleep(random.uniform(0, backoff))
        backoff = min(backoff * 2, _MAX_BACKOFF)


def _commit(session, deadline):
    while True:
        try:
            session.commit_transaction()
            return
        except (ConnectionFailure, OperationFailure) as error:
            unknown = isinstance(error, PyMongoError) and error.has_error_label(
                "UnknownTransactionCommitResult"
            )
            if not unknown or time.monotonic() > deadline:
                raise
