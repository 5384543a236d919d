"""Call recordings on the web (issue 11, R8): search, listen in the browser, download,
legal hold. Audience: the agencies' supervisors and tenant admins on the web listener.

Rules:
- Who may see what is agent_ui.recording_access's, against the deployment running now.
  A recording the user may not hear, an id that is not a uuid (path traversal and the
  like), a deleted or not yet stored recording: 404, the same page whatever the reason.
- Audio is decrypted on the fly by the `RecordingFiles` the composition root passes in
  (sentral/recording_files.py over recordings/: agent_ui never imports it): the whole
  file is verified first (authenticated and its SHA-256 the stored one), so a changed or
  cut-off file is an error page and never a byte of audio; only then is the asked range
  streamed. Nothing decrypted touches the disk.
- HTTP Range (one range: what browsers' <audio> and download managers send): 206 with
  Content-Range, 416 for a range past the end, Accept-Ranges on every answer. The length
  is the plaintext size stored with the recording.
- Every search, listen and download is written to the recordings' append-only access
  log (store.recordings.append_audit through Store.audit_recording) before any audio is
  sent; so are refusals for a tampered file or a missing key. A legal hold and its
  release are audited by the store with the reason.
- The files' errors are told apart by their stable `error_id` (recordings/errors.py), in
  one table here: the message says what the operator must do (install the key ...).
- POSTs carry the CSRF token (Flask-WTF, as every form of the app). Answers are
  `Cache-Control: no-store`: a shared computer keeps no recording in its cache.
"""
from __future__ import annotations

import logging
import re
from typing import Callable, Iterator, Protocol

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext as _l

from agent_ui import i18n
from agent_ui.app import config_and_services
from agent_ui.auth import login_required
from agent_ui.recording_access import listening_tenants, may_hold, may_listen
from agent_ui.recording_search import SearchRefused, parse

log = logging.getLogger(__name__)
bp = Blueprint("recordings", __name__, url_prefix="/recordings")
RECORDING_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PAGE_SIZE = 200

# error_id of recordings/errors.py -> (HTTP status, message, audit action)
FILE_ERRORS = {
    "recording-tampered": (409, _l("The recording file fails its integrity check (changed or cut off): it is "
                                   "not played. The fault is logged; tell the system administrator."),
                           "recording.tampered"),
    "recording-key-missing": (503, _l("This server has no private key for this recording (key id %(key)s): "
                                      "the administrator must install the agency's key file in the "
                                      "recordings identities folder."), "recording.key_missing"),
    "recording-key-bad": (503, _l("A private key file on this server cannot be used (not an age key, or "
                                  "readable by others): the administrator must fix it."), "recording.key_bad"),
    "recording-not-stored": (404, _l("The recording file is missing from storage."), "recording.missing"),
    "recording-storage-key": (404, _l("Not found."), "recording.bad_location"),
}


class RecordingFiles(Protocol):
    """What the page needs from the recordings library (built by the composition root)."""

    def verify(self, record) -> None: ...

    def plaintext(self, record, start: int, end: int) -> Iterator[bytes]: ...


class RecordingsPage:
    def __init__(self, store, deployment_source: Callable, files: RecordingFiles):
        self.store, self.deployment_source, self.files = store, deployment_source, files


def attach(app, store, deployment_source: Callable, files: RecordingFiles) -> None:
    app.extensions["sentral_recordings"] = RecordingsPage(store, deployment_source, files)
    app.register_blueprint(bp)


def _page() -> RecordingsPage:
    return current_app.extensions["sentral_recordings"]


def _deployment():
    deployment = _page().deployment_source()
    if deployment is None:
        abort(503)
    return deployment


def _visible(recording_id: str):
    """The stored recording the user may hear, else 404 (also for ids that are no uuid)."""
    if not RECORDING_ID.fullmatch(recording_id):
        abort(404)
    record = _page().store.recording(recording_id)
    if record is None or not may_listen(g.user.roles, _deployment(), record.tenant, record.queue):
        abort(404)
    return record


def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/")
@login_required
def search():
    deployment = _deployment()
    tenants = listening_tenants(g.user.roles, deployment)
    if not tenants:
        abort(403, gettext("Recordings are for the roles each agency lets listen."))
    config, _ = config_and_services()
    error, found, query = "", [], None
    try:
        query = parse(request.args, config.timezone)
    except SearchRefused as exc:
        error = str(exc)
    if query is not None:
        wanted = {query.tenant} & tenants if query.tenant else tenants
        found = [r for r in _page().store.search_recordings(wanted, **query.filters(), limit=PAGE_SIZE)
                 if r.status != "deleted" and may_listen(g.user.roles, deployment, r.tenant, r.queue)]
        _page().store.audit_recording(g.user.username, "recording.search", "", ",".join(sorted(wanted)),
                                      {"filters": query.audited(), "found": len(found)})
    names = {t: deployment.tenants[t].name for t in tenants}
    queues = sorted((q, cfg.name, cfg.tenant) for q, cfg in deployment.queues.items() if cfg.tenant in tenants)
    page = render_template("recordings/search.html", error=error, rows=found, args=request.args, tenants=names,
                           queues=queues, duration=i18n.duration, holder=lambda r: may_hold(g.user.roles, r.tenant))
    return _no_store(Response(page, status=400 if error else 200))


def _refused(record, exc, action_done: str) -> Response:
    status, message, action = FILE_ERRORS[exc.error_id]
    log.warning("recording %s not served (%s)", record.id, exc.error_id)
    _page().store.audit_recording(g.user.username, action, record.id, record.tenant,
                                  {"refused": action_done, "error": exc.error_id})
    page = render_template("directory/error.html", code=status, title=gettext("Recording not played"),
                           text=str(message) % {"key": record.key_id})
    return _no_store(Response(page, status=status))


def _guarded(pieces: Iterator[bytes], record, actor: str, store) -> Iterator[bytes]:
    """The audio as it is decrypted (outside the request context: `store` is passed in); a
    failure after the first bytes ends the answer short (the client sees fewer bytes than
    Content-Length) and is logged and audited."""
    try:
        yield from pieces
    except Exception as exc:
        if not getattr(exc, "error_id", "").startswith("recording-"):
            raise
        log.warning("recording %s failed while streaming (%s)", record.id, exc.error_id)
        store.audit_recording(actor, FILE_ERRORS.get(exc.error_id, (0, "", "recording.fault"))[2], record.id,
                              record.tenant, {"refused": "stream", "error": exc.error_id})


def _audio(recording_id: str, action: str, attachment: bool) -> Response:
    record = _visible(recording_id)
    if record.status != "stored" or not record.size:
        abort(404)
    size = record.size
    span = request.range.range_for_length(size) if request.range else (0, size)
    if span is None:
        resp = Response(status=416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})
        return _no_store(resp)
    start, stop = span
    if request.method == "HEAD":
        pieces: Iterator[bytes] = iter(())
    else:
        try:
            _page().files.verify(record)
            pieces = _page().files.plaintext(record, start, stop - 1)
        except Exception as exc:
            if getattr(exc, "error_id", None) not in FILE_ERRORS:
                raise
            return _refused(record, exc, action)
        _page().store.audit_recording(g.user.username, action, record.id, record.tenant,
                                      {"bytes": f"{start}-{stop - 1}/{size}"})
    resp = Response(_guarded(pieces, record, g.user.username, _page().store), status=206 if request.range else 200,
                    mimetype="audio/wav", direct_passthrough=True)
    resp.headers["Accept-Ranges"] = "bytes"
    resp.headers["Content-Length"] = str(stop - start)
    if request.range:
        resp.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    if attachment:
        resp.headers["Content-Disposition"] = f'attachment; filename="{file_name(record)}"'
    return _no_store(resp)


def file_name(record) -> str:
    """tenant-YYYYMMDD-HHMM-<first 8 of the id>.wav (ids and a time: nothing to escape)."""
    return f"{record.tenant}-{record.started_at.strftime('%Y%m%d-%H%M')}-{record.id[:8]}.wav"


@bp.get("/<recording_id>/audio")
@login_required
def audio(recording_id: str):
    return _audio(recording_id, "recording.listen", attachment=False)


@bp.get("/<recording_id>/download")
@login_required
def download(recording_id: str):
    return _audio(recording_id, "recording.download", attachment=True)


@bp.post("/<recording_id>/hold")
@login_required
def hold(recording_id: str):
    record = _visible(recording_id)
    if not may_hold(g.user.roles, record.tenant):
        abort(403, gettext("A legal hold is set by the agency's tenant admin."))
    reason = request.form.get("reason", "").strip()[:512]
    if not reason:
        abort(400, gettext("A legal hold needs a reason."))
    _page().store.hold_recording(record.id, reason, g.user.username)
    return redirect(url_for("recordings.search", interaction=record.interaction))


@bp.post("/<recording_id>/release")
@login_required
def release(recording_id: str):
    record = _visible(recording_id)
    if not may_hold(g.user.roles, record.tenant):
        abort(403, gettext("A legal hold is lifted by the agency's tenant admin."))
    _page().store.release_recording(record.id, g.user.username)
    return redirect(url_for("recordings.search", interaction=record.interaction))
