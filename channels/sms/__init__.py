"""SMS channel: an SMPP transceiver link (smpp.py) and an HTTP gateway (http_gateway.py)
around pure coding (gsm7.py, segments.py, receipts.py). Not yet wired into the engine."""
