"""The browsable API: Accept: text/html on any API URL gives a readable page of the same
response, with clickable links, pagination, the allowed methods and forms from the domain.

Rendered by an after_request hook from the JSON the API produced, so the page can never
say something the API does not. Jinja autoescaping is on; no value reaches the page
unescaped. Scripts run under a per-response CSP nonce.
"""

import json
import re
import secrets
from urllib.parse import quote

from flask import current_app, render_template, request
from markupsafe import Markup, escape

from domain import CLIENT_PATCHES
from domain.vocabulary import PAYMENT_METHODS
from identity.authentication import optional_user
from plumbing import jsonschema
from plumbing.http import wants_html
from search import parameters

_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
SKIP_PREFIXES = ("/api/v1/docs", "/api/v1/openapi.json", "/api/v1/webhooks")


def _resource_for(path):
    """(resource, item id or None) for /api/v1/<url>[/<id>], from the domain's URLs."""
    prefix = current_app.api_prefix + "/"
    if not path.startswith(prefix):
        return None, None
    parts = path[len(prefix) :].strip("/").split("/")
    for resource, settings in current_app.config["DOMAIN"].items():
        if settings.get("url", resource) == parts[0]:
            return resource, parts[1] if len(parts) > 1 else None
    return None, None


def _schema(resource):
    return jsonschema.resource_schema(current_app.config["DOMAIN"][resource])


def _references(resource):
    """{field: URL segment of the resource it references}, from the converter's x-resource."""
    if not resource:
        return {}
    refs = {}
    for field, rules in _schema(resource)["properties"].items():
        target = rules.get("x-resource") or (rules.get("items") or {}).get("x-resource")
        if target:
            refs[field] = current_app.config["DOMAIN"][target].get("url", target)
    return refs


def render_json(value, refs, key=None, depth=0):
    """Pretty JSON as HTML: escaped text, _links hrefs and reference ids as links."""
    prefix = current_app.api_prefix
    pad = "  " * depth
    if isinstance(value, dict):
        if not value:
            return Markup("{}")
        # A templated link (RFC 6570, `{?check_in,...}`) is a pattern, not a place to go.
        templated = value.get("templated") is True
        items = [
            Markup('{}  <span class="k">"{}"</span>: {}').format(
                pad,
                k,
                render_json(v, refs, "template" if templated and k == "href" else k, depth + 1),
            )
            for k, v in value.items()
        ]
        return Markup("{\n") + Markup(",\n").join(items) + Markup("\n{}}}").format(pad)
    if isinstance(value, list):
        if not value:
            return Markup("[]")
        items = [Markup("{}  {}").format(pad, render_json(v, refs, key, depth + 1)) for v in value]
        return Markup("[\n") + Markup(",\n").join(items) + Markup("\n{}]").format(pad)
    if isinstance(value, str):
        quoted = json.dumps(value)
        if key == "href":
            target = value if value.startswith("/") else f"{prefix}/{value}"
            return Markup('<a href="{}">{}</a>').format(target, quoted)
        if key in refs and _OBJECT_ID.match(value):
            return Markup('<a href="{}/{}/{}">{}</a>').format(prefix, refs[key], value, quoted)
        return Markup('<span class="s">{}</span>').format(quoted)
    return escape(json.dumps(value))


def related_collections(resource, item_id):
    """Collections whose documents reference this item, e.g. a hotel's room types."""
    if not resource or not item_id:
        return []
    related = []
    domain = current_app.config["DOMAIN"]
    for other, settings in domain.items():
        for field, rules in _schema(other)["properties"].items():
            if rules.get("x-resource") == resource and field in settings.get(
                "allowed_filters", []
            ):
                url = settings.get("url", other)
                where = json.dumps({field: item_id})
                title = domain[resource].get("item_title", resource)
                related.append(
                    {
                        "title": f"{other.replace('_', ' ')} of this {title}",
                        "href": f"{current_app.api_prefix}/{url}?where={quote(where)}",
                    }
                )
    return related


# The converter's form inputs, as the page's template renders them.
_TEMPLATE_INPUTS = {
    "select": "select",
    "boolean": "select",
    "number": "number",
    "integer": "number",
    "date": "date",
    "password": "password",
    "multiselect": "checkboxes",
    "object": "object",
    "point": "point",
    "list": "json",
}


LONGEST_SELECT = 100


def form_fields(resource, for_patch=False):
    """Inputs for every field a client may send, from the one converter's field metadata:
    a nested document as a fieldset of its own inputs, a location as latitude and
    longitude, a vocabulary as checkboxes; JSON text only for lists of objects."""
    return _template_fields(jsonschema.form_fields(_schema(resource), for_patch))


def _template_fields(fields, prefix=""):
    for field in fields:
        field["path"] = prefix + field["name"]
        if field["input"] == "boolean":
            field["options"] = ["true", "false"]
        kind = _TEMPLATE_INPUTS.get(field["input"], "text")
        if kind == "object" and not field.get("fields"):
            kind = "json"
        if kind == "select" and len(field["options"]) > LONGEST_SELECT:
            kind = "text"  # 249 countries: type "FR"; a refusal lists what is allowed
        field["input"] = kind
        if kind == "object":
            _template_fields(field["fields"], field["path"] + ".")
        if isinstance(field["example"], (dict, list)):
            field["example"] = json.dumps(field["example"])
    return fields


def may_write(settings, user, item):
    """Whether the caller's role may write here (the resource's roles, as Eve checks
    them): forms are offered only to those whose request would be allowed."""
    if user is None:
        return False
    key = "allowed_item_write_roles" if item else "allowed_write_roles"
    roles = settings.get(key) or settings.get("allowed_roles") or []
    return not roles or user.get("role") in roles


def actions(payload):
    """The action links of the answer (a booking's pay and cancel, an offer's book), each
    with what its form needs: [{title, method, href, body, headers, choose, label}]."""
    documents = [payload] if isinstance(payload, dict) else []
    if isinstance(payload, dict) and isinstance(payload.get("_items"), list):
        documents = payload["_items"]
    found = []
    for document in documents:
        links = document.get("_links") if isinstance(document, dict) else None
        for link in (links or {}).values():
            if isinstance(link, dict) and link.get("method") in ("POST", "PATCH", "DELETE"):
                body = link.get("body") or {}
                choose = {k for k, v in body.items() if isinstance(v, str) and v.startswith("<")}
                found.append(
                    {
                        **link,
                        "label": _label(document),
                        "choose": sorted(choose),
                        # a date to choose starts at the document's own (a change's stay)
                        "defaults": {k: document[k] for k in choose if k in document},
                    }
                )
    return found


TEMPLATE_QUERY = re.compile(r"\{\?([A-Za-z0-9_,]+)\}$")


def templated_forms(links, search_fields):
    """The answer's templated links (RFC 6570 form-style query, `path{?a,b}`) as GET forms:
    one input per variable; the availability search gets its whole documented form."""
    forms = []
    for rel, link in (links or {}).items():
        if not isinstance(link, dict) or link.get("templated") is not True:
            continue
        href = str(link.get("href", ""))
        variables = TEMPLATE_QUERY.search(href)
        if variables is None:
            continue
        action = href[: variables.start()]
        names = variables.group(1).split(",")
        if action.rstrip("/").endswith("/availability"):
            fields = search_fields
        else:
            fields = [
                {
                    "name": n,
                    "label": n.replace("_", " "),
                    "type": "text",
                    "min": None,
                    "max": None,
                    "required": False,
                    "hint": None,
                }
                for n in names
            ]
        forms.append(
            {
                "rel": rel,
                "title": link.get("title") or rel,
                "href": href,
                "action": action,
                "fields": fields,
            }
        )
    return forms


def _label(document):
    """What an action's button says it acts on: an offer's hotel and room, a booking's code."""
    if isinstance(document.get("hotel"), dict) and isinstance(document.get("room_type"), dict):
        total = f"{document.get('total_price')} {document.get('currency')}"
        plan = document.get("rate_plan") if isinstance(document.get("rate_plan"), dict) else {}
        sold = f", {plan['name']}" if plan.get("name") else ""
        return (
            f"{document['hotel'].get('name')} - {document['room_type'].get('name')}{sold}: {total}"
        )
    return document.get("confirmation_code") or ""


def render_page(response):
    """after_request: turn an API JSON answer into the browsable page when HTML is wanted."""
    if (
        response.mimetype != "application/json"
        or not request.path.startswith(current_app.api_prefix)
        or request.path.startswith(SKIP_PREFIXES)
        or request.method not in ("GET", "HEAD")
        or not wants_html()
    ):
        return response
    try:
        payload = json.loads(response.get_data(as_text=True))
    except ValueError:
        return response
    resource, item_id = _resource_for(request.path)
    settings = current_app.config["DOMAIN"].get(resource, {}) if resource else {}
    methods = settings.get("item_methods" if item_id else "resource_methods", ["GET"])
    nonce = secrets.token_urlsafe(16)
    user = optional_user()
    meta = payload.get("_meta") if isinstance(payload, dict) else None
    links = (payload.get("_links") or {}) if isinstance(payload, dict) else {}
    search_fields = parameters.form_fields()
    html = render_template(
        "browsable.html",
        title=request.path,
        status=response.status_code,
        body=render_json(payload, _references(resource)),
        payload=payload,
        resource=resource,
        item_id=item_id,
        methods=methods,
        post_fields=form_fields(resource)
        if resource and not item_id and "POST" in methods and may_write(settings, user, False)
        else [],
        # A resource with one allowed change (a booking: cancel) offers its action links
        # as buttons instead of a generic PATCH form.
        patch_fields=form_fields(resource, True)
        if resource
        and item_id
        and "PATCH" in methods
        and resource not in CLIENT_PATCHES
        and may_write(settings, user, True)
        else [],
        read_only=bool(resource) and not may_write(settings, user, bool(item_id)),
        actions=actions(payload),
        payment_methods=PAYMENT_METHODS,
        search=request.path.rstrip("/").endswith("/availability"),
        templated=templated_forms(links, search_fields),
        search_fields=search_fields,
        query=request.args,
        etag=payload.get("_etag") if isinstance(payload, dict) else None,
        meta=meta,
        links=links,
        api_prefix=current_app.api_prefix,
        related=related_collections(resource, item_id),
        nonce=nonce,
    )
    response.set_data(html)
    response.mimetype = "text/html"
    response.headers["Vary"] = "Accept"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return response
