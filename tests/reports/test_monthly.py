"""Monthly agency reports (reports/monthly.py): one folder per agency and month with PDF,
XLSX and CSV of the same figures, mailed through a real SMTP server (aiosmtpd) to the
agency's addresses; a failed send of one agency never stops the others."""
from __future__ import annotations

import csv
import email
import io
import os
from datetime import datetime, timezone

import pytest

from channels.email.smtp import SmtpConfig, send
from dialplan.loader import load
from reports.errors import BadPeriod
from reports.monthly import month_bounds, previous_month, write_monthly
from tests.dialplan.files import DEMO, DEMO_ENV
from tests.helpers import smtp_server
from tests.web.test_reports import a_call

NOVEMBER = datetime(2026, 11, 3, 9, 0, tzinfo=timezone.utc)


def journal():
    return (a_call(1, "nordlys", "nordlys-switchboard", NOVEMBER, 12.0)
            + a_call(2, "nordlys", "nordlys-switchboard", NOVEMBER.replace(day=20), 45.0)
            + a_call(3, "fjordvik", "fjordvik-switchboard", NOVEMBER.replace(day=30, hour=22, minute=59), 5.0)
            + a_call(4, "fjordvik", "fjordvik-switchboard", NOVEMBER.replace(day=30, hour=23, minute=1), 5.0))


def test_month_bounds_are_local_and_the_previous_month_wraps_the_year():
    start, end = month_bounds("2026-11")
    assert (start.isoformat(), end.isoformat()) == ("2026-11-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00")
    assert month_bounds("2026-12")[1].isoformat() == "2027-01-01T00:00:00+01:00"
    assert previous_month(datetime(2027, 1, 1, 0, 30, tzinfo=timezone.utc)) == "2026-12"
    assert previous_month(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)) == "2026-12"   # 00:30 in Oslo
    with pytest.raises(BadPeriod):
        month_bounds("November")


def test_each_agency_gets_its_months_files_and_a_mail_with_them(tmp_path):
    deployment = load(str(DEMO), DEMO_ENV)
    rows = journal()
    with smtp_server() as inbox:
        config = SmtpConfig(host="127.0.0.1", port=inbox.port)
        result = write_monthly(lambda start, end: rows, deployment, "2026-11", str(tmp_path),
                               recipients={"nordlys": ["okonomi@nordlys.example"], "fjordvik": ["bad address"]},
                               sender="sentral@centre.example", send=lambda msg: send(config, msg),
                               tenants=["nordlys", "fjordvik"])
    folder = tmp_path / "nordlys" / "2026-11"
    assert sorted(os.listdir(folder)) == ["sentral-nordlys-2026-11.csv", "sentral-nordlys-2026-11.pdf",
                                          "sentral-nordlys-2026-11.xlsx"]
    days = list(csv.DictReader(io.StringIO((folder / "sentral-nordlys-2026-11.csv").read_text())))
    assert [d["interval"][:10] for d in days[:-1]] == ["2026-11-03", "2026-11-20"] and days[-1]["calls"] == "2"
    # the 23:01 UTC call of 30 November is on 1 December in Oslo: not November's
    fjordvik = list(csv.DictReader(io.StringIO(
        (tmp_path / "fjordvik" / "2026-11" / "sentral-fjordvik-2026-11.csv").read_text())))
    assert fjordvik[-1]["calls"] == "1"
    assert (folder / "sentral-nordlys-2026-11.pdf").read_bytes().startswith(b"%PDF")
    assert result.mailed == {"nordlys": ["okonomi@nordlys.example"]} and "fjordvik" in result.failed
    [(sender, to, raw)] = inbox.messages
    msg = email.message_from_bytes(raw)
    assert sender == "sentral@centre.example" and to == ["okonomi@nordlys.example"]
    assert sorted(p.get_filename() for p in msg.walk() if p.get_filename()) == [
        "sentral-nordlys-2026-11.csv", "sentral-nordlys-2026-11.pdf", "sentral-nordlys-2026-11.xlsx"]
    assert not list(tmp_path.rglob("*.part"))


def test_the_command_writes_and_mails_the_month_and_refuses_bad_input(tmp_path):
    import subprocess
    import sys

    from sentral.process import open_store

    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = open_store(url)
    try:
        store.append_journal(journal())
    finally:
        store.close()
    base = [sys.executable, "-m", "sentral.cli", "report", "monthly", "--db", url, "--config", str(DEMO),
            "--folder", str(tmp_path / "out"), "--month", "2026-11"]
    with smtp_server() as inbox:
        env = dict(os.environ, SENTRAL_SMTP_HOST="127.0.0.1", SENTRAL_SMTP_PORT=str(inbox.port))
        done = subprocess.run(base + ["--mail", "nordlys=okonomi@nordlys.example", "--mail-from", "s@centre.example"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "nordlys 2026-11: 3 files" in done.stdout and "mailed to okonomi@nordlys.example" in done.stdout
        assert [to for _, to, _ in inbox.messages] == [["okonomi@nordlys.example"]]
    assert (tmp_path / "out" / "fjordvik" / "2026-11" / "sentral-fjordvik-2026-11.pdf").exists()
    for bad, says in ((["--mail", "nordlys"], "AGENCY=ADDRESS"), (["--mail", "nowhere=a@b.example", "--mail-from",
                                                                    "s@centre.example"], "no agency nowhere")):
        refused = subprocess.run(base + bad, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1 and says in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
