"""OAuth2 access tokens for XOAUTH2 mailbox logins (Microsoft 365 / Exchange Online).

A service mailbox is read by an app registration, not a person: the client-credentials
flow (msal's `ConfidentialClientApplication.acquire_token_for_client`) with the app's
client secret, for the scope `https://outlook.office365.com/.default`. The secret is read
from an environment variable named in the settings; it is never stored in a file, never
logged and never part of an error message.

`TokenSource.token()` returns a cached access token until `refresh_margin` seconds (5
minutes) before it expires, then asks again. `TokenSource.invalidate(token)` drops a token
the mail server refused, so the next `token()` fetches a new one from the token endpoint
rather than from msal's own cache. A changed secret in the variable (rotation) is used from
the next token request on.
"""
from __future__ import annotations

import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping

log = logging.getLogger(__name__)

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
EXCHANGE_ONLINE_SCOPES = ("https://outlook.office365.com/.default",)


class OAuth2Failed(Exception):
    """No access token. ``error``: Entra's error code when the token endpoint refused (e.g.
    invalid_client, unauthorized_client, invalid_scope), ``invalid_authority`` (OpenID
    discovery failed: unknown tenant or wrong authority URL), ``unreachable`` (connection,
    TLS or timeout) or ``missing_secret`` (the secret's variable is unset or empty)."""
    error_id = "mail.oauth2_failed"

    def __init__(self, message: str, error: str | None = None):
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class OAuth2Settings:
    """tenant_id, client_id: the app registration's directory (tenant) and application
    (client) ids. client_secret_env: the NAME of the environment variable holding the
    client secret. authority: defaults to https://login.microsoftonline.com/<tenant_id>."""
    tenant_id: str
    client_id: str
    client_secret_env: str
    authority: str | None = None
    scopes: tuple[str, ...] = EXCHANGE_ONLINE_SCOPES

    @property
    def authority_url(self) -> str:
        return self.authority or f"{DEFAULT_AUTHORITY_HOST}/{self.tenant_id}"

    def client_secret(self, environ: Mapping[str, str] | None = None) -> str:
        value = (os.environ if environ is None else environ).get(self.client_secret_env, "")
        if not value:
            raise OAuth2Failed(f"client secret variable {self.client_secret_env} is not set",
                               "missing_secret")
        return value


class TokenSource:
    """Access tokens for one app registration (thread-safe).

    ca_file: a CA bundle for the authority's certificate (a TLS-inspecting proxy; tests);
    certificates are always verified. instance_discovery: False for an authority msal does
    not know (sovereign or test authorities); Microsoft's own hosts need no change.
    """

    def __init__(self, settings: OAuth2Settings, *, environ: Mapping[str, str] | None = None,
                 ca_file: str | None = None, instance_discovery: bool = True,
                 timeout: float = 30.0, refresh_margin: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self._environ = environ
        self._ca_file = ca_file
        self._instance_discovery = instance_discovery
        self._timeout = timeout
        self._margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._app = None
        self._app_secret: str | None = None
        self._token: str | None = None
        self._renew_at = 0.0

    def token(self) -> str:
        """A valid access token: the cached one, or a new one from the token endpoint."""
        with self._lock:
            if self._token is not None and self._clock() < self._renew_at:
                return self._token
            now = self._clock()
            result = self._acquire()
            self._token = result["access_token"]
            expires_in = float(result.get("expires_in") or 0)
            self._renew_at = now + max(expires_in - self._margin, 0.0)
            return self._token

    def invalidate(self, token: str | None = None) -> None:
        """Forget `token` (default: the cached one), here and in msal's cache: the server
        refused it, so the next `token()` asks the token endpoint."""
        with self._lock:
            token = token or self._token
            if token is None:
                return
            if token == self._token:
                self._token, self._renew_at = None, 0.0
            if self._app is not None:
                cache = self._app.token_cache
                kind = cache.CredentialType.ACCESS_TOKEN
                for entry in [e for e in cache.search(kind) if e.get("secret") == token]:
                    cache.remove_at(entry)

    # -- internals -------------------------------------------------------------------------
    def _acquire(self) -> dict:
        secret = self.settings.client_secret(self._environ)
        try:
            app = self._application(secret)
            result = app.acquire_token_for_client(scopes=list(self.settings.scopes))
        except OAuth2Failed:
            raise
        except ValueError as exc:  # msal: the authority's OpenID discovery failed (tenant, URL)
            cause = f" ({exc.__context__})" if exc.__context__ is not None else ""
            raise OAuth2Failed(self._redact(f"{self.settings.authority_url}: {exc}{cause}", secret),
                               "invalid_authority") from None
        except Exception as exc:   # requests' errors: connection, TLS, timeout
            raise OAuth2Failed(self._redact(f"{self.settings.authority_url}: {type(exc).__name__}: {exc}",
                                            secret), "unreachable") from None
        if not result or "access_token" not in result:
            result = result or {}
            error = result.get("error") or "no_token"
            description = result.get("error_description") or "no access token in the answer"
            raise OAuth2Failed(self._redact(f"{self.settings.authority_url}: {error}: {description}",
                                            secret), error)
        log.info("XOAUTH2: access token for client %s (%s, expires in %ss)", self.settings.client_id,
                 result.get("token_source", "identity_provider"), result.get("expires_in"))
        return result

    def _application(self, secret: str):
        if self._app is None or secret != self._app_secret:   # first use, or a rotated secret
            import msal

            self._app = msal.ConfidentialClientApplication(
                self.settings.client_id, client_credential=secret,
                authority=self.settings.authority_url, token_cache=msal.TokenCache(),
                http_client=self._http_client(), timeout=self._timeout,
                instance_discovery=self._instance_discovery)
            self._app_secret = secret
        return self._app

    def _http_client(self):
        """msal's own requests session, except that a ca_file is passed on every request:
        a session-wide `verify` loses to REQUESTS_CA_BUNDLE in the environment (requests'
        merge_environment_settings), a per-request one does not."""
        if self._ca_file is None:
            return None                                   # msal builds its default session
        import requests

        session = requests.Session()
        session.mount("https://", requests.adapters.HTTPAdapter(max_retries=1))
        session.request = functools.partial(session.request, timeout=self._timeout,
                                            verify=self._ca_file)
        return session

    @staticmethod
    def _redact(text: str, secret: str) -> str:
        return text.replace(secret, "***") if secret else text
