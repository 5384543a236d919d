"""mod_xml_curl responder: a Flask blueprint the engine's web server mounts.

FreeSWITCH POSTs form fields (`section`, `tag_name`, `key_name`, `key_value`, the
REQUEST_PARAMS event headers, and for a call the channel's `Caller-*`/`Hunt-*` fields;
for the directory `action`, `user`, `domain`, `key`). We answer:
* section=dialplan → the requested context (`Hunt-Context`, else `Caller-Context`) with
  the extensions matching the dialled number (`Hunt-Destination-Number`, else
  `Caller-Destination-Number`); a number we do not route → "not found" (FreeSWITCH then
  uses its static files, where a site may keep routes of its own);
* section=directory with a user → that agent's SIP user; without a user, the whole
  domain (group_call, gateways...); an unknown user or domain → "not found";
* anything else → the "not found" document, so FreeSWITCH falls back to its files.
The deployment is read through `current()` on every request, so a reload shows at once.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import Blueprint, Response, request

from dialplan import compile as compiler
from engine.config import Deployment

log = logging.getLogger(__name__)
ROUTE = "/freeswitch/xml"
XML = "text/xml"


def make_blueprint(current: Callable[[], Deployment], name: str = "xml_curl") -> Blueprint:
    bp = Blueprint(name, __name__)

    @bp.route(ROUTE, methods=["POST", "GET"])
    def fetch() -> Response:
        form = request.values
        section = form.get("section", "")
        text = answer(current(), section, form)
        if text is None:
            log.debug("xml_curl: nothing for section=%s key=%s", section, form.get("key_value", ""))
            text = compiler.not_found()
        return Response(text, mimetype=XML)

    return bp


def answer(deployment: Deployment, section: str, form) -> str | None:
    if section == "dialplan":
        context = form.get("Hunt-Context") or form.get("Caller-Context") or None
        destination = form.get("Hunt-Destination-Number") or form.get("Caller-Destination-Number") or None
        return compiler.dialplan_document(deployment, context, destination)
    if section == "directory":
        domain = form.get("domain") or (form.get("key_value") if form.get("key_name") == "name" else None)
        user = form.get("user") or None
        return compiler.directory_document(deployment, user=user, domain=domain)
    return None
