"""E-mail channel: IMAP mailbox reading (inbound), MIME to MailItem (parse), case threading,
replies (outbound) sent over SMTP (smtp), attachment files outside the database (attachments)."""
