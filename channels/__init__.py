"""Written channels (e-mail now; SMS and web-form tasks next): adapters that turn mail
servers and gateways into items for the engine. See docs/channels.md."""
