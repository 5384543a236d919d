"""Sending a built message over SMTP (smtplib): Sentral's one SMTP sender (the console's
messages, agent_ui/mail.py, and the monthly reports send through it too).

Rules:
- The server comes from the same environment as the console's mail: SENTRAL_SMTP_HOST,
  SENTRAL_SMTP_PORT (default localhost:25), SENTRAL_SMTP_STARTTLS=1 to require STARTTLS
  (a server that does not offer it fails the send, never a silent plain-text fallback),
  SENTRAL_SMTP_USER / SENTRAL_SMTP_PASSWORD to log in, and SENTRAL_SMTP_CAFILE for a
  private CA (else the system's). The certificate and host name are always verified.
- Any failure is a `SendFailed` with a stable error id and `permanent`: True for a 5xx
  answer (the same message will be refused again), False for 4xx and connection problems
  (worth another try later).
"""
from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Mapping


class SendFailed(Exception):
    error_id = "mail.send_failed"

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    user: str = ""
    password: str = ""
    cafile: str = ""
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SmtpConfig":
        env = os.environ if env is None else env
        return cls(host=env.get("SENTRAL_SMTP_HOST", "localhost"),
                   port=int(env.get("SENTRAL_SMTP_PORT", "25")),
                   starttls=env.get("SENTRAL_SMTP_STARTTLS", "") == "1",
                   user=env.get("SENTRAL_SMTP_USER", ""),
                   password=env.get("SENTRAL_SMTP_PASSWORD", ""),
                   cafile=env.get("SENTRAL_SMTP_CAFILE", ""))

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile or None)


@dataclass(frozen=True)
class Sent:
    message_id: str                                  # to record for threading
    refused: Mapping[str, tuple[int, bytes]]         # recipients refused while others took it


def send(config: SmtpConfig, msg: EmailMessage, envelope_from: str | None = None) -> Sent:
    """Send `msg` to its To/Cc recipients. `envelope_from` is the MAIL FROM (bounce address);
    default the From address. All recipients refused: `SendFailed`; some: `Sent.refused`
    (the message went, so it must not be sent again)."""
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
            smtp.ehlo()
            if config.starttls:
                smtp.starttls(context=config.tls_context())
                smtp.ehlo()
            if config.user:
                smtp.login(config.user, config.password)
            refused = smtp.send_message(msg, from_addr=envelope_from)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise SendFailed(f"recipients refused: {sorted(exc.recipients)} {codes}",
                         permanent=all(c >= 500 for c in codes)) from exc
    except smtplib.SMTPResponseException as exc:
        raise SendFailed(f"{type(exc).__name__} {exc.smtp_code}: {_text(exc.smtp_error)}",
                         permanent=exc.smtp_code >= 500) from exc
    except smtplib.SMTPNotSupportedError as exc:     # no STARTTLS or no AUTH offered: configuration
        raise SendFailed(f"{type(exc).__name__}: {exc}", permanent=True) from exc
    except (OSError, smtplib.SMTPException) as exc:  # ssl.SSLError is an OSError
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    return Sent(str(msg["Message-ID"]), dict(refused))


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
