"""Monthly agency reports: for every agency of the configuration, its month per day (the
agency report at 1d) and per queue (the queue report for the month), as PDF, XLSX and
CSV in a folder, optionally e-mailed (R10-R15: the billing basis each agency receives).

Rules:
* a month is local (Europe/Oslo): from the 1st 00:00 to the next 1st 00:00; "the previous
  month" is the one before `now`'s;
* files go to `<folder>/<agency>/<YYYY-MM>/sentral-<agency>-<YYYY-MM>.{pdf,xlsx,csv}`,
  written to a temporary name and renamed, so a reader never sees half a file; running it
  again for the same month writes the same files again (nothing else is touched);
* the numbers are those of every other report (reports.report over reports.figures), the
  PDF is drawn by WeasyPrint from HTML with the same chart as the web page;
* e-mail: one message per agency with its three files attached, to the addresses asked
  for that agency; an agency without an address gets files only. A failed send is
  reported per agency and never stops the other agencies' files or messages.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from html import escape
from typing import Callable, Iterable, Mapping

from reports import chart, intervals, output
from reports.figures import Limits
from reports.report import Table, build


@dataclass
class MonthlyResult:
    month: str
    files: dict[str, list[str]] = field(default_factory=dict)      # agency -> files written
    mailed: dict[str, list[str]] = field(default_factory=dict)     # agency -> recipients
    failed: dict[str, str] = field(default_factory=dict)           # agency -> why its mail failed


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """'2026-11' -> [1 Nov 00:00, 1 Dec 00:00) local time."""
    from reports.errors import BadPeriod

    try:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=intervals.ZONE)
    except ValueError:
        raise BadPeriod(f"{month!r} is no month: write YYYY-MM, e.g. 2026-11") from None
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=intervals.ZONE)
    return start, end


def previous_month(now: datetime) -> str:
    local = now.astimezone(intervals.ZONE)
    year, number = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{number:02d}"


def _write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    part = path + ".part"
    with open(part, "wb") as f:
        f.write(data)
    os.replace(part, path)


def agency_html(name: str, month: str, daily: Table, queues: Table, names: Mapping[str, str]) -> str:
    labels = {"offered": "Tilbudt / offered", "answered": "Besvart / answered",
              "service_level": "Servicenivå / service level", "none": "Ingen anrop / no calls"}
    total = daily.total
    level = total.get("service_level")
    summary = (f"Anrop / calls: {total.get('calls', 0)} · besvart / answered: {total.get('answered', 0)} · "
               f"servicenivå / service level: {'–' if level is None else f'{level * 100:.1f} %'.replace('.', ',')}")
    return (f"<!doctype html><html lang='nb'><head><meta charset='utf-8'><style>{output.PRINT_STYLE}</style>"
            f"<title>Sentral {escape(name)} {month}</title></head><body>"
            f"<h1>{escape(name)} · {month}</h1><p>{escape(summary)}</p>"
            f"{chart.day_shape(daily.rows, '1d', labels)}"
            f"<h2>Per dag / per day</h2>{output.html_table(daily, names)}"
            f"<h2>Per kø / per queue</h2>{output.html_table(queues, names)}"
            f"<p><small>Tall som definert i docs/metrics.md / figures as defined in docs/metrics.md</small></p>"
            f"</body></html>")


def write_monthly(rows_of: Callable[[datetime, datetime], Iterable], deployment, month: str, folder: str,
                  limits: Limits = Limits(), recipients: Mapping[str, list[str]] | None = None,
                  sender: str = "", send: Callable[[EmailMessage], None] | None = None,
                  tenants: Iterable[str] | None = None) -> MonthlyResult:
    from weasyprint import HTML

    start, end = month_bounds(month)
    rows = list(rows_of(start, end))
    result = MonthlyResult(month)
    names = {tid: t.name for tid, t in deployment.tenants.items()}
    for tid in sorted(tenants if tenants is not None else deployment.tenants):
        daily = build("agency", rows, start, end, "1d", limits, tenant=tid)
        queues = build("queue", rows, start, end, "1mo", limits, tenant=tid)
        base = os.path.join(folder, tid, month, f"sentral-{tid}-{month}")
        text = io.StringIO()
        output.write_csv(daily, text)
        files = {"pdf": HTML(string=agency_html(names.get(tid, tid), month, daily, queues, names)).write_pdf(),
                 "xlsx": output.xlsx_bytes(daily), "csv": text.getvalue().encode("utf-8")}
        for suffix, data in files.items():
            _write(f"{base}.{suffix}", data)
        result.files[tid] = [f"{base}.{suffix}" for suffix in files]
        to = list((recipients or {}).get(tid, ()))
        if to and send is not None:
            try:
                send(_message(sender, to, names.get(tid, tid), month, base, files))
                result.mailed[tid] = to
            except Exception as exc:        # one agency's failed mail never stops the others
                result.failed[tid] = f"{type(exc).__name__}: {exc}"
    return result


def _message(sender: str, to: list[str], name: str, month: str, base: str, files: Mapping[str, bytes]) -> EmailMessage:
    from reports.errors import BadAddress

    for address in [sender, *to]:
        if not address or "@" not in address or "\r" in address or "\n" in address:
            raise BadAddress(f"not an e-mail address: {address!r}")
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, ", ".join(to)
    msg["Subject"] = f"Sentral: {name} {month}".replace("\r", " ").replace("\n", " ")
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    msg.set_content(f"Månedsrapport for {name}, {month} (vedlagt som PDF, XLSX og CSV).\n"
                    f"Monthly report for {name}, {month} (attached as PDF, XLSX and CSV).\n")
    kinds = {"pdf": ("application", "pdf"),
             "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
             "csv": ("text", "csv")}
    for suffix, data in files.items():
        main, sub = kinds[suffix]
        msg.add_attachment(data, maintype=main, subtype=sub, filename=os.path.basename(f"{base}.{suffix}"))
    return msg
