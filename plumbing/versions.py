"""API versions side by side: WSGI middleware between the client and the one app, which
speaks version 1 (domain/versions.py declares what each later version changes).

A request asks for a version by its path (`/api/v2/...`) or by its media type
(`Accept: application/json; version=2` on `/api/v1/...`, Django REST Framework's
AcceptHeaderVersioning); an unknown version is a 406 naming those there are. A version
2 request is handed to the app as version 1: its path under `/api/v1`, its JSON body
taken down through each change's request transformation (newest first). The app's
JSON answer is taken up through each change's response transformation (oldest first),
and the OpenAPI document through each change's document transformation. A stream of
Server-Sent Events has each event's data taken up as it is sent.

Every answer says which version answered (`API-Version`) and varies on `Accept`;
version 1's answers carry `Deprecation`, `Sunset` and a `Link` to the migration guide
(RFC 9745, RFC 8594). The version is in the request's environ (`innkeeper.api_version`)
for the logs and the metrics.
"""

import io
import json
import re
from datetime import datetime
from email.utils import format_datetime

import orjson

from domain import versions as declared
from plumbing import jsonbody
from plumbing.errors import Refusal

VERSION_KEY = "innkeeper.api_version"
SENT_CURRENCY_KEY = "innkeeper.sent_currency"
_ACCEPT_VERSION = re.compile(r"version\s*=\s*\"?([0-9]+)\"?", re.IGNORECASE)
_PREFIX = re.compile(r"^/api/v([0-9]+)(/|$)")


def _http_date(instant):
    return format_datetime(datetime.fromisoformat(instant.replace("Z", "+00:00")), usegmt=True)


def _epoch(instant):
    return int(datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp())


DEPRECATION_HEADERS = [
    ("Deprecation", f"@{_epoch(declared.DEPRECATED_AT)}"),
    ("Sunset", _http_date(declared.SUNSET_AT)),
    ("Link", f'<{declared.MIGRATION_GUIDE}>; rel="deprecation"; type="text/markdown"'),
]


def requested_version(environ):
    """(the version asked for or None when the path is not the API's, (status, why) it
    is refused or None). The path's version wins; on /api/v1 an Accept version may ask
    for another. A path of no version is a 404, a media type of none a 406."""
    path = environ.get("PATH_INFO", "")
    found = _PREFIX.match(path)
    if found is None:
        return None, None
    version = int(found.group(1))
    known = ", ".join(str(v) for v in declared.VERSIONS)
    if version not in declared.VERSIONS:  # no such path
        return version, (404, f"there is no API version {version}: ask for one of {known}")
    asked = _ACCEPT_VERSION.search(environ.get("HTTP_ACCEPT", ""))
    if asked and version == 1:
        version = int(asked.group(1))
        if version not in declared.VERSIONS:  # no such media type
            return version, (406, f"there is no API version {version}: ask for one of {known}")
    return version, None


class Versions:
    """The middleware; `wsgi_app` is the app's (version 1)."""

    def __init__(self, wsgi_app, max_body=None):
        # A body above the app's limit is not read here: the app answers its 413.
        self.wsgi_app, self.max_body = wsgi_app, max_body

    def __call__(self, environ, start_response):
        version, refused = requested_version(environ)
        if version is None:
            return self.wsgi_app(environ, start_response)
        path = environ["PATH_INFO"]
        instance = path
        if refused:
            status, detail = refused
            return _answer(start_response, status, declared.problem(status, detail, instance), [])
        environ[VERSION_KEY] = version
        if version == 1:
            return self.wsgi_app(environ, _with_headers(start_response, version))
        root = f"/api/v{version}"
        environ["innkeeper.path"] = path  # what the client asked for, for the logs
        environ["PATH_INFO"] = _PREFIX.sub(r"/api/v1\2", path, count=1)  # /api/v2/x, or
        # /api/v1/x asked for version 2 by its media type
        context = {"path": environ["PATH_INFO"], "root": root, "instance": instance}
        try:
            self._take_down(environ, version, context)
        except declared.Refused as refusal:
            body = declared.problem(refusal.status, refusal.detail, instance, refusal.issues)
            return _answer(start_response, refusal.status, body, [])
        if context.get("sent_currency"):
            environ[SENT_CURRENCY_KEY] = context["sent_currency"]
        captured = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: captured.setdefault("written", []).append(data)

        body = self.wsgi_app(environ, capture)
        headers = captured["headers"]
        kind = _header(headers, "Content-Type") or ""
        if "event-stream" in kind:  # each event's data taken up as it is sent
            context.update(status=int(captured["status"].split()[0]))
            start_response(captured["status"], _versioned(headers, version))
            return _Events(body, lambda data: self._take_up(data, version, context, ""))
        if "json" not in kind or environ.get("REQUEST_METHOD") == "HEAD":
            # (a HEAD answer has no body to transform: its headers are version 1's)
            start_response(captured["status"], _versioned(headers, version))
            return body
        try:
            raw = b"".join([*captured.get("written", []), *body])
        finally:
            if hasattr(body, "close"):
                body.close()
        status = int(captured["status"].split()[0])
        context.update(status=status, request_id=_header(headers, "X-Request-ID"))
        text = self._take_up(raw, version, context, environ["PATH_INFO"])
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        if context.get("content_type"):
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", context["content_type"]))
        headers.append(("Content-Length", str(len(text))))
        start_response(captured["status"], _versioned(headers, version))
        return [text]

    def _take_down(self, environ, version, context):
        if environ.get("REQUEST_METHOD") not in ("POST", "PUT", "PATCH"):
            return
        if "json" not in (environ.get("CONTENT_TYPE") or ""):
            return
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return  # the app answers the malformed header
        if length <= 0 or (self.max_body is not None and length > self.max_body):
            return
        raw = environ["wsgi.input"].read(length)
        try:
            body = jsonbody.parse(raw)  # the app's own checks: depth, numbers, UTF-8
        except Refusal:
            body = None  # the app refuses the same body itself, in the version's shape
        if body is not None:
            for change in reversed(declared.changes_between(1, version)):
                if change["request"]:
                    body = change["request"](body, context)
            raw = json.dumps(body).encode()
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))

    def _take_up(self, raw, version, context, path):
        changes = declared.changes_between(1, version)
        openapi = path.endswith("/openapi.json")
        if not openapi:
            for change in changes:
                if change.get("response_text"):
                    raw = change["response_text"](raw, context)
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
        if openapi:
            document = declared.openapi_of(version, document)
            document = _paths_under(document, f"/api/v{version}")
        else:
            for change in changes:
                if change.get("response"):
                    document = change["response"](document, context)
        return orjson.dumps(document)


class _Events:
    """A Server-Sent Events body whose events' JSON data go through `take_up`; each frame
    is one event (routes/live.py writes them whole), comments and retries as they are."""

    def __init__(self, body, take_up):
        self.body, self.take_up = body, take_up

    def __iter__(self):
        for chunk in self.body:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            lines = [
                "data: " + self.take_up(line[6:].encode()).decode()
                if line.startswith("data: ")
                else line
                for line in text.split("\n")
            ]
            yield "\n".join(lines).encode()

    def close(self):
        if hasattr(self.body, "close"):
            self.body.close()


def _paths_under(document, root):
    document["paths"] = {
        (root + path[len("/api/v1") :] if path.startswith("/api/v1") else path): item
        for path, item in document.get("paths", {}).items()
    }
    info = document.setdefault("info", {})
    info["version"] = root.rsplit("/v", 1)[1]
    return document


def _header(headers, name):
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def _versioned(headers, version):
    headers = [*headers, ("API-Version", str(version))]
    vary = _header(headers, "Vary")
    if vary is None:
        headers.append(("Vary", "Accept"))
    elif "accept" not in vary.lower():
        headers = [(k, v if k.lower() != "vary" else f"{v}, Accept") for k, v in headers]
    if version == 1:
        headers += DEPRECATION_HEADERS
    return headers


def _with_headers(start_response, version):
    def start(status, headers, exc_info=None):
        return start_response(status, _versioned(headers, version), exc_info)

    return start


def _answer(start_response, status, body, headers):
    text = json.dumps(body).encode()
    phrase = body.get("title", "")
    start_response(
        f"{status} {phrase}",
        [
            ("Content-Type", "application/problem+json"),
            ("Content-Length", str(len(text))),
            *headers,
        ],
    )
    return [text]
