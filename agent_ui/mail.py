"""Messages taken for absent persons, sent by e-mail (smtplib).

Rules:
- The SMTP server comes from the environment (channels.email.smtp.SmtpConfig.from_env:
  SENTRAL_SMTP_HOST, SENTRAL_SMTP_PORT, default localhost:25; SENTRAL_SMTP_STARTTLS=1 to
  require STARTTLS; SENTRAL_SMTP_USER / SENTRAL_SMTP_PASSWORD to log in; SENTRAL_SMTP_CAFILE);
  the sender is the agency's `message_from`.
- Header values are checked: a CR or LF in an address or the subject is refused
  (MailRefused), never folded into a second header; the body is plain UTF-8 text.
- Any failure is a MailFailed with a stable error id; the caller (the console) keeps the
  operator's text and says the message was not sent.
"""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from channels.email.smtp import SendFailed, SmtpConfig
from channels.email.smtp import send as smtp_send

__all__ = ["MailFailed", "MailRefused", "SmtpConfig", "build", "send"]


class MailFailed(Exception):
    error_id = "console.mail_failed"


class MailRefused(MailFailed):
    error_id = "console.mail_refused"


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
    """Through channels/email/smtp.py (the one SMTP sender: STARTTLS with certificate checks,
    login); its failure becomes the console's MailFailed."""
    try:
        smtp_send(config, msg)
    except SendFailed as exc:
        raise MailFailed(exc.reason) from exc
