"""Messages taken for absent persons, sent by e-mail (smtplib).

Rules:
- The SMTP server comes from the environment (SENTRAL_SMTP_HOST, SENTRAL_SMTP_PORT,
  default localhost:25; SENTRAL_SMTP_STARTTLS=1 to require STARTTLS; SENTRAL_SMTP_USER /
  SENTRAL_SMTP_PASSWORD to log in); the sender is the agency's `message_from`.
- Header values are checked: a CR or LF in an address or the subject is refused
  (MailRefused), never folded into a second header; the body is plain UTF-8 text.
- Any failure is a MailFailed with a stable error id; the caller (the console) keeps the
  operator's text and says the message was not sent.
"""
from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Mapping


class MailFailed(Exception):
    error_id = "console.mail_failed"


class MailRefused(MailFailed):
    error_id = "console.mail_refused"


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    user: str = ""
    password: str = ""
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SmtpConfig":
        env = os.environ if env is None else env
        return cls(host=env.get("SENTRAL_SMTP_HOST", "localhost"), port=int(env.get("SENTRAL_SMTP_PORT", "25")),
                   starttls=env.get("SENTRAL_SMTP_STARTTLS", "") == "1", user=env.get("SENTRAL_SMTP_USER", ""),
                   password=env.get("SENTRAL_SMTP_PASSWORD", ""))


def _clean(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise MailRefused(f"line break in {what}")
    return value


def build(sender: str, sender_name: str, recipient: str, subject: str, body: str) -> EmailMessage:
    if not sender or "@" not in sender:
        raise MailRefused("the agency has no message sender address (message_from)")
    if not recipient or "@" not in recipient:
        raise MailRefused("the person has no e-mail address")
    msg = EmailMessage()
    msg["From"] = formataddr((_clean(sender_name, "sender name"), _clean(sender, "sender")))
    msg["To"] = _clean(recipient, "recipient")
    msg["Subject"] = _clean(subject, "subject")
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    msg.set_content(body)
    return msg


def send(config: SmtpConfig, msg: EmailMessage) -> None:
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
            if config.starttls:
                smtp.starttls()
            if config.user:
                smtp.login(config.user, config.password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailFailed(f"{type(exc).__name__}") from exc
