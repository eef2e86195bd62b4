"""What a request or a job works with: the database, the search answer cache, the
caller (set by identity/authentication.py when it authenticates the request)."""

from flask import current_app, g, has_app_context, has_request_context, request


def db():
    return current_app.data.driver.db


def answer_cache():
    """The app's search answer cache (search/answers.py): writers bump it."""
    return current_app.extensions["answers"]


def answers_to_bump():
    """The answer cache to bump after a write, or a stand-in that does nothing outside an
    app (a write to a bare database: a benchmark's seed, a test's own thread)."""
    return current_app.extensions["answers"] if has_app_context() else _NO_ANSWERS


class _NoAnswers:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


_NO_ANSWERS = _NoAnswers()


def current_user():
    return g.get("user")


def sent_currency():
    """The currency a version-2 request's money objects named (plumbing/versions.py), or
    None: the rules that know the hotel's currency refuse another."""
    if not has_request_context():
        return None
    return request.environ.get("innkeeper.sent_currency")
