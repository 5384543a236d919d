"""Charts of a report as inline SVG (the same markup on the page and in the PDF).

Rules:
* the shape of the day: per interval a bar of offered calls and, inside it, the answered
  ones; the service level as a line on its own 0-100 % scale; every interval of the table
  in order (the traffic report has the empty ones too);
* the waiting-time distribution: answered and abandoned callers per waiting band;
* no script and no external resource: plain SVG that WeasyPrint and every browser draw;
  every text is escaped; labels are thinned so they never overlap.
"""
from __future__ import annotations

from datetime import datetime
from html import escape

from reports.intervals import ZONE

W, H = 880, 260
LABELS = {"15m": "%H:%M", "1h": "%H:%M", "1d": "%d.%m", "1w": "%V", "1mo": "%m.%Y"}
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 16, 40


def _label(at, resolution: str) -> str:
    if not isinstance(at, datetime):
        return str(at)
    return at.astimezone(ZONE).strftime(LABELS[resolution])


def day_shape(rows: list[dict], resolution: str, labels: dict[str, str]) -> str:
    """Offered and answered bars with the service-level line; `labels` names the series
    in the page's language (offered, answered, service_level, none)."""
    if not rows:
        return f'<p class="chart-empty">{escape(labels.get("none", ""))}</p>'
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    top = max(max(r.get("offered", 0) for r in rows), 1)
    step = plot_w / len(rows)
    bar = max(step * 0.7, 1.0)
    every = max(1, round(len(rows) / 12))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" '
             f'class="chart" aria-label="{escape(labels["offered"])}, {escape(labels["answered"])}, '
             f'{escape(labels["service_level"])}">',
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{W - RIGHT}" y2="{TOP + plot_h}" stroke="#888"/>',
             f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{top}</text>',
             f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
             f'<text x="{W - RIGHT + 6}" y="{TOP + 4}" font-size="11">100 %</text>',
             f'<text x="{W - RIGHT + 6}" y="{TOP + plot_h}" font-size="11">0 %</text>']
    line = []
    for i, row in enumerate(rows):
        x = LEFT + i * step + (step - bar) / 2
        offered, answered = row.get("offered", 0), row.get("answered", 0)
        for value, colour, name in ((offered, "#b7c9e2", "offered"), (answered, "#2f6db3", "answered")):
            if value:
                h = plot_h * value / top
                parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                             f'fill="{colour}"><title>{escape(labels[name])}: {value}</title></rect>')
        level = row.get("service_level")
        if level is not None:
            line.append(f"{LEFT + (i + 0.5) * step:.1f},{TOP + plot_h * (1 - level):.1f}")
        if i % every == 0:
            parts.append(f'<text x="{LEFT + (i + 0.5) * step:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" '
                         f'font-size="11">{escape(_label(row.get("interval"), resolution))}</text>')
    if len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#d9822b" stroke-width="2"/>')
    elif line:
        x, y = line[0].split(",")
        parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="#d9822b"/>')
    legend = ((labels["offered"], "#b7c9e2"), (labels["answered"], "#2f6db3"), (labels["service_level"], "#d9822b"))
    for n, (name, colour) in enumerate(legend):
        x = LEFT + n * 180
        parts.append(f'<rect x="{x}" y="{H - 14}" width="12" height="10" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="{H - 5}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def wait_bands(bands: list[tuple[str, int, int]], labels: dict[str, str]) -> str:
    """Horizontal bars per waiting band: (band label, answered, abandoned)."""
    if not any(a or b for _, a, b in bands):
        return f'<p class="chart-empty">{escape(labels.get("none", ""))}</p>'
    top = max(a + b for _, a, b in bands)
    row_h, label_w, plot_w = 22, 90, W - 90 - 60
    height = row_h * len(bands) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" width="100%" role="img" '
             f'class="chart" aria-label="{escape(labels["waits"])}">']
    for i, (band, answered, abandoned) in enumerate(bands):
        y = i * row_h
        a_w, b_w = plot_w * answered / top, plot_w * abandoned / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="11">{escape(band)}</text>')
        if answered:
            parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{a_w:.1f}" height="14" fill="#2f6db3">'
                         f'<title>{escape(labels["answered"])}: {answered}</title></rect>')
        if abandoned:
            parts.append(f'<rect x="{label_w + a_w:.1f}" y="{y + 4}" width="{b_w:.1f}" height="14" fill="#c0392b">'
                         f'<title>{escape(labels["abandoned"])}: {abandoned}</title></rect>')
        parts.append(f'<text x="{label_w + a_w + b_w + 6:.1f}" y="{y + 15}" font-size="11">{answered + abandoned}'
                     f'</text>')
    y = row_h * len(bands) + 4
    for n, (name, colour) in enumerate(((labels["answered"], "#2f6db3"), (labels["abandoned"], "#c0392b"))):
        x = label_w + n * 180
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="10" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="{y + 9}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
