"""The OpenAPI document is valid (openapi-spec-validator) and describes exactly the /api/
routes the app serves: a route cannot exist undocumented, nor a documented one unserved."""
from __future__ import annotations

import re

from openapi_spec_validator import validate


def test_the_document_is_valid_openapi(api):
    doc = api.client().get("/api/openapi.json").get_json()
    validate(doc)
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": "/api"}]


def test_the_documented_paths_are_exactly_the_apps_api_routes(api):
    doc = api.client().get("/api/openapi.json").get_json()
    documented = {(method.upper(), "/api" + path) for path, ops in doc["paths"].items() for method in ops
                  if method in ("get", "post", "put", "delete", "patch")}
    served, elsewhere = set(), set()
    for rule in api.app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and not rule.endpoint.startswith("api."):
            elsewhere.add(rule.rule)
        elif rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            served |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    assert elsewhere == {"/api/wallboard"}, "the wallboard's login-session JSON is the only other /api/ route"
    assert len(served) > 25


def test_every_route_but_the_document_needs_a_bearer_token_and_documents_its_errors(api):
    """The SMS gateway's webhook is the one route signed instead (an HMAC of the body)."""
    doc = api.client().get("/api/openapi.json").get_json()
    assert doc["components"]["securitySchemes"]["smsSignature"]["name"] == "X-Signature"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if path == "/openapi.json":
                assert op["security"] == []
                continue
            if path == "/v1/sms/inbound":
                assert op["security"] == [{"smsSignature": []}] and "401" in op["responses"]
                continue
            assert op["security"] == [{"bearer": []}], (method, path)
            assert {"401", "429"} <= set(op["responses"]), (method, path)
            if "requestBody" in op:
                assert "example" in op["requestBody"]["content"]["application/json"]["schema"], (method, path)
