"""Reading the import files: CSV (`;` or `,`) and JSON, UTF-8 (a BOM is tolerated),
into records that remember their file and line.

Rules:
- The file is decoded as strict UTF-8; anything else is an `ImportFileError` naming the
  file and line of the first bad byte (nothing is guessed: re-save the file as UTF-8).
- CSV: the first line is the header; the delimiter is whichever of `;` and `,` occurs
  more often in it. Column names are case-insensitive and trimmed. A header naming an
  unknown column, or lacking a required one, is an error on line 1.
- JSON: an array of objects (or {"units": [...]} / {"persons": [...]}); each record's
  line is where its object starts. Values must be strings, numbers or, for `keywords`,
  a list of strings.
- Values are trimmed; control characters (other than none at all) are refused.
"""
from __future__ import annotations

import csv
import io
import json
import pathlib
import re
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ImportFileError(Exception):
    """One or more problems in the import files; nothing was written."""

    error_id = "directory.import_invalid"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Record:
    file: str
    line: int
    values: dict  # column -> str (or list[str] for keywords)


def read_records(path: str | pathlib.Path, columns: tuple[str, ...], required: tuple[str, ...],
                 list_columns: tuple[str, ...] = ()) -> list[Record]:
    path = pathlib.Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError([Problem(name, 0, f"cannot read: {exc.strerror or exc}")]) from exc
    text = _decode(raw, name)
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        records = _json_records(text, name, list_columns)
    else:
        records = _csv_records(text, name, columns, required)
    _check_values(records, columns, required)
    return records


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith(BOM):
        raw = raw[len(BOM):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ImportFileError([Problem(name, line, f"not UTF-8 (byte 0x{raw[exc.start]:02X} at column {col}); "
                                                   "save the file as UTF-8")]) from None


def _csv_records(text: str, name: str, columns, required) -> list[Record]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportFileError([Problem(name, 1, "empty file (a header line is required)")]) from None
    problems = []
    unknown = [h for h in header if h not in columns]
    if unknown:
        problems.append(Problem(name, 1, f"unknown column(s) {', '.join(map(repr, unknown))}; "
                                         f"allowed: {', '.join(columns)}"))
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(Problem(name, 1, f"missing required column(s): {', '.join(missing)}"))
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        problems.append(Problem(name, 1, f"column(s) given twice: {', '.join(dupes)}"))
    if problems:
        raise ImportFileError(problems)
    records = []
    line = reader.line_num + 1
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                line = reader.line_num + 1
                continue
            if len(row) != len(header):
                problems.append(Problem(name, line, f"{len(row)} fields, the header has {len(header)} "
                                                    f"(delimiter {delimiter!r})"))
            else:
                records.append(Record(name, line, {h: v.strip() for h, v in zip(header, row)}))
            line = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, f"malformed CSV: {exc}"))
    if problems:
        raise ImportFileError(problems)
    return records


def _json_records(text: str, name: str, list_columns) -> list[Record]:
    decoder = json.JSONDecoder()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError([Problem(name, exc.lineno, f"invalid JSON: {exc.msg}")]) from None
    if isinstance(doc, dict) and len(doc) == 1 and isinstance(next(iter(doc.values())), list):
        key = next(iter(doc))
        start = text.index("[", text.index(json.dumps(key)[1:-1]))
    elif isinstance(doc, list):
        start = text.index("[")
    else:
        raise ImportFileError([Problem(name, 1, "expected a JSON array of objects")])
    # Walk the array once more with raw_decode to learn where each object starts.
    records, problems, pos = [], [], start + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        obj, end = decoder.raw_decode(text, pos)
        line = text.count("\n", 0, pos) + 1
        if not isinstance(obj, dict):
            problems.append(Problem(name, line, "expected an object"))
        else:
            values = {}
            for k, v in obj.items():
                key = str(k).strip().lower()
                if key in list_columns and isinstance(v, list) and all(isinstance(x, str) for x in v):
                    values[key] = [x.strip() for x in v]
                elif v is None:
                    values[key] = ""
                elif isinstance(v, (str, int)) and not isinstance(v, bool):
                    values[key] = str(v).strip()
                else:
                    problems.append(Problem(name, line, f"field {k!r}: expected a string, got {type(v).__name__}"))
            records.append(Record(name, line, values))
        pos = end
    if problems:
        raise ImportFileError(problems)
    return records


def _check_values(records: list[Record], columns, required) -> None:
    problems = []
    for r in records:
        unknown = [k for k in r.values if k not in columns]
        if unknown:
            problems.append(Problem(r.file, r.line, f"unknown field(s) {', '.join(map(repr, unknown))}; "
                                                    f"allowed: {', '.join(columns)}"))
        for c in required:
            if not r.values.get(c):
                problems.append(Problem(r.file, r.line, f"{c} is empty"))
        flat = "".join(x for v in r.values.values() for x in (v if isinstance(v, list) else [v]))
        if len(flat) < 2000 and not _CONTROL.search(flat):
            continue  # the common case: nothing to report on this record
        for k, v in r.values.items():
            for item in (v if isinstance(v, list) else [v]):
                if _CONTROL.search(item):
                    problems.append(Problem(r.file, r.line, f"{k}: control character not allowed"))
                elif len(item) > 2000:
                    problems.append(Problem(r.file, r.line, f"{k}: value longer than 2000 characters"))
    if problems:
        raise ImportFileError(problems)
