"""Public catalogue reads (hotels and room types, lists and items) answered from Redis.

The first GET of a URL runs through Eve and its answer - body and the headers that
describe it (ETag, Last-Modified, Cache-Control, X-Total-Count) - is kept under the
catalogue's generation (search/answers.py). Every committed hotel or room type write
and every review bumps that generation (hooks/catalogue.py, hooks/reviews.py), so a
kept answer is never older than the last committed change; seeding and migrations bump
the epoch. A hit still passes the rate limiter and the request guards (they run first)
and the after-request steps (security headers, conditional GET, the browsable page).
With Redis down, reads run through Eve as always. Writes are never cached.
"""

import simplejson as json
from flask import Response, g, request

from domain.policy import READ_CACHED

# Eve's list and item endpoints of the resources the domain says are read-cached.
ENDPOINTS = {
    f"{resource}|{kind}" for resource in READ_CACHED for kind in ("resource", "item_lookup")
}
KEPT_HEADERS = ("ETag", "Last-Modified", "Cache-Control", "X-Total-Count")


def init_app(app):
    """Register after the rate limiter (its check runs first) and after the browsable
    pages (this store then runs before they turn JSON into HTML)."""
    cache = app.extensions["answers"]

    @app.before_request
    def answer_from_cache():
        if request.method != "GET" or request.endpoint not in ENDPOINTS:
            return None
        cached, g.read_cache_key = cache.lookup_page(request.full_path)
        if cached is None:
            return None
        headers, body = json.loads(cached)
        response = Response(body, headers=headers, mimetype="application/json")
        response.headers["X-Read-Cache"] = "hit"
        return response

    @app.after_request
    def keep_for_the_next_reader(response):
        key = g.pop("read_cache_key", None)
        fresh = response.status_code == 200 and response.mimetype == "application/json"
        if key is not None and fresh:
            headers = [(k, response.headers[k]) for k in KEPT_HEADERS if k in response.headers]
            cache.store(key, json.dumps([headers, response.get_data(as_text=True)]))
            response.headers["X-Read-Cache"] = "miss"
        return response
