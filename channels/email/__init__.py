"""E-mail channel: IMAP mailbox reading (inbound), MIME to MailItem (parse), case threading."""
