"""A report table as text, CSV, JSON lines or XLSX.

Rules:
* CSV, JSON and XLSX are for billing systems and spreadsheets: interval starts as ISO 8601
  local time with its offset (two rows of the autumn night's repeated hour stay apart),
  numbers with a decimal point, ratios as fractions (0.85), times in seconds, empty for
  "none"; the total row last, its interval "total";
* the text table is for people: numbers the Norwegian way (12 345, 85,0 %, 12,3), local
  times without offset unless the hour repeats;
* XLSX through xlsxwriter: one sheet, a header row, number formats for percent and
  seconds, the total row in bold.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from html import escape
from typing import Mapping, TextIO

from babel.numbers import format_decimal, format_percent

from reports.intervals import ZONE
from reports.report import PERCENT, SECONDS, Table

LOCALE = "nb_NO"
KEYS = frozenset({"interval", "agency", "queue", "channel", "agent"})


def _iso(value) -> str:
    if isinstance(value, datetime):
        return value.astimezone(ZONE).isoformat()
    return str(value)


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, datetime):
        return _iso(value)
    return value


def rows_of(table: Table) -> list[dict]:
    return table.rows + [table.total]


def write_csv(table: Table, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in rows_of(table):
        writer.writerow([_plain(row.get(c, "")) for c in table.columns])


def write_json(table: Table, out: TextIO) -> None:
    for row in rows_of(table):
        out.write(json.dumps({c: _plain(row.get(c)) for c in table.columns}, ensure_ascii=False) + "\n")


def _human(column: str, value, resolution: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        local = value.astimezone(ZONE)
        text = {"15m": "%Y-%m-%d %H:%M", "1h": "%Y-%m-%d %H:%M", "1d": "%Y-%m-%d", "1w": "uke %V %G",
                "1mo": "%Y-%m"}[resolution]
        shown = local.strftime(text)
        return shown + (f" ({local:%z})" if local.fold or resolution in ("15m", "1h") and _repeated(local) else "")
    if column in PERCENT:
        return format_percent(value, "#,##0.0 %", locale=LOCALE)
    if isinstance(value, float) or column in SECONDS:
        return format_decimal(value, "#,##0.0", locale=LOCALE)
    if isinstance(value, int):
        return format_decimal(value, "#,##0", locale=LOCALE)
    return str(value)


def _repeated(local: datetime) -> bool:
    """An hour the autumn night has twice: its first pass is shown with its offset too."""
    return local.replace(fold=1).utcoffset() != local.replace(fold=0).utcoffset()


def write_text(table: Table, out: TextIO) -> None:
    cells = [list(table.columns)]
    for row in rows_of(table):
        cells.append([_human(c, row.get(c, ""), table.resolution) if c in row else "" for c in table.columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(table.columns))]
    for n, r in enumerate(cells):
        out.write("  ".join(v.ljust(w) if c in KEYS else v.rjust(w)
                            for c, v, w in zip(table.columns, r, widths)).rstrip() + "\n")
        if n == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def xlsx_bytes(table: Table) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(table, buffer)
    return buffer.getvalue()


PRINT_STYLE = ("body{font-family:sans-serif;font-size:9pt} table{border-collapse:collapse;width:100%}"
               "th,td{border:1px solid #bbb;padding:2px 4px;text-align:right} th{background:#eee}"
               "@page{size:A4 landscape;margin:12mm}")


def html_table(table: Table, names: Mapping[str, str]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = []
    for row in rows_of(table):
        cells = []
        for c in table.columns:
            value = row.get(c)
            if c == "interval" and isinstance(value, datetime):
                shown = "%Y-%m-%d" if table.resolution in ("1d", "1w", "1mo") else "%Y-%m-%d %H:%M"
                value = value.astimezone(ZONE).strftime(shown)
            elif c == "agency":
                value = names.get(value, value or "")
            elif c == "service_level" and value is not None:
                value = f"{value * 100:.1f} %".replace(".", ",")
            elif isinstance(value, float):
                value = f"{value:.1f}".replace(".", ",")
            cells.append(f"<td>{escape('' if value is None else str(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def printable_html(table: Table, names: Mapping[str, str] | None = None) -> str:
    """The report as a page to print: title, period, the day's chart (traffic), the table."""
    from reports import chart

    labels = {"offered": "Tilbudt / offered", "answered": "Besvart / answered",
              "service_level": "Servicenivå / service level", "none": "Ingen anrop / no calls"}
    period = f"{_iso(table.start)} – {_iso(table.end)}"
    drawn = chart.day_shape(table.rows, table.resolution, labels) if table.kind == "traffic" else ""
    return (f"<!doctype html><html lang='nb'><head><meta charset='utf-8'><style>{PRINT_STYLE}</style>"
            f"<title>Sentral {escape(table.kind)}</title></head><body>"
            f"<h1>Sentral · {escape(table.kind)}</h1><p>{escape(period)} ({escape(table.resolution)})</p>"
            f"{drawn}{html_table(table, names or {})}"
            f"<p><small>Tall som definert i docs/metrics.md / figures as defined in docs/metrics.md</small></p>"
            f"</body></html>")


def write_pdf(table: Table, path: str, names: Mapping[str, str] | None = None) -> None:
    from weasyprint import HTML

    HTML(string=printable_html(table, names)).write_pdf(path)


def write_xlsx(table: Table, path) -> None:
    """To a file name or a binary file object."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"remove_timezone": True, "in_memory": True})
    try:
        sheet = book.add_worksheet(table.kind)
        bold = book.add_format({"bold": True})
        when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        percent = book.add_format({"num_format": "0.0%"})
        seconds = book.add_format({"num_format": "0.0"})
        total_fmt = book.add_format({"bold": True})
        for col, name in enumerate(table.columns):
            sheet.write(0, col, name, bold)
        for r, row in enumerate(rows_of(table), start=1):
            is_total = row is table.total
            for col, name in enumerate(table.columns):
                value = row.get(name)
                if value is None:
                    continue
                if isinstance(value, datetime):
                    sheet.write_datetime(r, col, value.astimezone(ZONE).replace(tzinfo=None), when)
                elif name in PERCENT:
                    sheet.write_number(r, col, value, percent)
                elif name in SECONDS:
                    sheet.write_number(r, col, value, seconds)
                elif isinstance(value, (int, float)):
                    sheet.write_number(r, col, value, total_fmt if is_total else None)
                else:
                    sheet.write(r, col, value, total_fmt if is_total else None)
        sheet.freeze_panes(1, 0)
    finally:
        book.close()


def write(table: Table, fmt: str, path: str | None = None) -> None:
    """`fmt` (table, csv, json, xlsx, pdf) to `path`, or to standard output for the text
    formats without one (xlsx and pdf need a path)."""
    import sys

    if fmt == "xlsx":
        write_xlsx(table, path)
        return
    if fmt == "pdf":
        write_pdf(table, path)
        return
    writer = {"table": write_text, "csv": write_csv, "json": write_json}[fmt]
    if path:
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer(table, f)
    else:
        writer(table, sys.stdout)
