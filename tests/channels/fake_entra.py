"""A small stand-in for Microsoft Entra ID (Azure AD) on 127.0.0.1, for the XOAUTH2 tests.

It answers what msal's client-credentials flow asks, in the shapes Entra uses:
- GET  /{tenant}/v2.0/.well-known/openid-configuration  (OpenID discovery)
- POST /{tenant}/oauth2/v2.0/token  grant_type=client_credentials, client_id, client_secret,
  scope  ->  {token_type, expires_in, ext_expires_in, access_token}, or an error body
  {error, error_description, error_codes, ...} with 400/401 like Entra.
msal accepts only https authorities, so this listener speaks TLS with a certificate made in
the test (tests/web/certs.py); msal is given that certificate as its CA.

A second, plain-HTTP listener serves token introspection (RFC 7662 style, POST token=...)
for dovecot's oauth2 passdb: {"active": true, "username": <mailbox>} for a token it issued
and has not revoked, {"active": false} otherwise. (Exchange Online checks tokens itself;
this is only how the test IMAP server learns who a token belongs to.)
"""
from __future__ import annotations

import json
import pathlib
import secrets
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.web.certs import self_signed


class FakeEntra:
    def __init__(self, directory: pathlib.Path, *, tenant: str, client_id: str, client_secret: str,
                 mailbox: str, scope: str = "https://outlook.office365.com/.default",
                 expires_in: int = 3599):
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.mailbox, self.scope, self.expires_in = mailbox, scope, expires_in
        self.token_requests: list[dict] = []     # form fields of each token request
        self.introspections: list[str] = []      # tokens dovecot asked about
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self._lock = threading.Lock()
        self.ca_file, key = self_signed(directory, "entra")
        self._tls = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(self._entra))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key)
        self._tls.socket = context.wrap_socket(self._tls.socket, server_side=True)
        self._plain = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(self._introspect))
        self.authority = f"https://127.0.0.1:{self._tls.server_address[1]}/{tenant}"
        self.introspection_url = f"http://127.0.0.1:{self._plain.server_address[1]}/introspect"
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05},
                                          daemon=True) for s in (self._tls, self._plain)]

    def __enter__(self) -> "FakeEntra":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        for s in (self._tls, self._plain):
            s.shutdown()
            s.server_close()

    def revoke_all(self) -> None:
        """Every token issued so far stops being accepted (as after a permission change)."""
        with self._lock:
            self.revoked.update(self.issued)

    # -- request handling ------------------------------------------------------------------
    @staticmethod
    def _handler(route):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._answer(*route("GET", urlparse(self.path).path, {}))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                self._answer(*route("POST", urlparse(self.path).path, form))

            def _answer(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass
        return Handler

    def _error(self, status: int, error: str, code: int, text: str) -> tuple[int, dict]:
        return status, {"error": error, "error_description": f"AADSTS{code}: {text}",
                        "error_codes": [code], "timestamp": "2025-01-01 00:00:00Z",
                        "trace_id": secrets.token_hex(8), "correlation_id": secrets.token_hex(8),
                        "error_uri": f"{self.authority.rsplit('/', 1)[0]}/error?code={code}"}

    def _entra(self, method: str, path: str, form: dict) -> tuple[int, dict]:
        base = self.authority.rsplit("/", 1)[0]
        parts = path.strip("/").split("/")
        if parts[0] != self.tenant:
            return self._error(400, "invalid_tenant", 90002, f"Tenant '{parts[0]}' not found.")
        if method == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            t = f"{base}/{self.tenant}"
            return 200, {"token_endpoint": f"{t}/oauth2/v2.0/token",
                         "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                                   "private_key_jwt", "client_secret_basic"],
                         "jwks_uri": f"{base}/{self.tenant}/discovery/v2.0/keys",
                         "response_modes_supported": ["query", "fragment", "form_post"],
                         "subject_types_supported": ["pairwise"],
                         "id_token_signing_alg_values_supported": ["RS256"],
                         "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                         "scopes_supported": ["openid", "profile", "email", "offline_access"],
                         "issuer": f"{t}/v2.0",
                         "request_uri_parameter_supported": False,
                         "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                         "authorization_endpoint": f"{t}/oauth2/v2.0/authorize",
                         "device_authorization_endpoint": f"{t}/oauth2/v2.0/devicecode",
                         "http_logout_supported": True, "frontchannel_logout_supported": True,
                         "end_session_endpoint": f"{t}/oauth2/v2.0/logout",
                         "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid"],
                         "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com",
                         "cloud_graph_host_name": "graph.windows.net",
                         "msgraph_host": "graph.microsoft.com", "rbac_url": "https://pas.windows.net"}
        if method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
            with self._lock:
                self.token_requests.append(dict(form))
            if form.get("grant_type") != "client_credentials":
                return self._error(400, "unsupported_grant_type", 70003,
                                   "The app requested an unsupported grant type.")
            if form.get("client_id") != self.client_id:
                return self._error(400, "unauthorized_client", 700016,
                                   f"Application with identifier '{form.get('client_id')}' was not "
                                   f"found in the directory '{self.tenant}'.")
            if form.get("client_secret") != self.client_secret:
                return self._error(401, "invalid_client", 7000215,
                                   "Invalid client secret provided. Ensure the secret being sent in "
                                   "the request is the client secret value, not the client secret ID.")
            if self.scope not in form.get("scope", "").split():
                return self._error(400, "invalid_scope", 1002012,
                                   f"The provided value for scope {form.get('scope')} is not valid.")
            token = "eyJ0eXAi." + secrets.token_urlsafe(24)
            with self._lock:
                self.issued.append(token)
            return 200, {"token_type": "Bearer", "expires_in": self.expires_in,
                         "ext_expires_in": self.expires_in, "access_token": token}
        return 404, {"error": "not_found"}

    def _introspect(self, method: str, path: str, form: dict) -> tuple[int, dict]:
        if method != "POST" or path != "/introspect":
            return 404, {"error": "not_found"}
        token = form.get("token", "")
        with self._lock:
            self.introspections.append(token)
            active = token in self.issued and token not in self.revoked
        return 200, ({"active": True, "username": self.mailbox, "scope": self.scope}
                     if active else {"active": False})
