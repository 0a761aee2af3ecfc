"""API Gateway REST API proxy events (payload v1), built as API Gateway builds them from an HTTP
request, and the proxy result read back as the HTTP response API Gateway would send."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.deploy.sam import template

STAGE = "prod"


def _binary_types() -> list[str]:
    api = template()["Resources"]["Api"]["Properties"]
    return [t.replace("~1", "/") for t in api.get("BinaryMediaTypes", [])]


def _resource(path: str, routes: list[str]) -> tuple[str, dict[str, str] | None]:
    """The template route (``/v1/videos/{video_id}``) a path matches, and its parameters."""
    for route in sorted(routes, key=lambda r: ("{" in r, r.endswith("+}"))):
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(route))
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern, path)
        if found:
            return route, found.groupdict() or None
    raise AssertionError(f"no template route matches {path}")


def rest_event(
    method: str,
    url: str,
    routes: list[str],
    *,
    headers: dict[str, str] | None = None,
    body: bytes | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event API Gateway sends a Lambda proxy integration for this request."""
    parts = urlsplit(url)
    sent = {"Host": "api.example.com", "User-Agent": "tests", **(headers or {})}
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    if isinstance(body, dict):
        sent.setdefault("Content-Type", "application/json")
    ctype = sent.get("Content-Type", "").split(";")[0].strip().lower()
    binary = raw is not None and ctype in _binary_types()
    query = parse_qsl(parts.query)
    resource, params = _resource(parts.path, routes)
    return {
        "resource": resource,
        "path": parts.path,
        "httpMethod": method,
        "headers": sent,
        "multiValueHeaders": {k: [v] for k, v in sent.items()},
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": {k: [v for q, v in query if q == k] for k, _ in query}
        or None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{parts.path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": None
        if raw is None
        else (base64.b64encode(raw).decode() if binary else raw.decode()),
        "isBase64Encoded": binary,
    }


def response(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """(status, headers in lower case, body) of a proxy integration's result."""
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    for k, values in (result.get("multiValueHeaders") or {}).items():
        headers[k.lower()] = ", ".join(values)
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    return int(result["statusCode"]), headers, body
