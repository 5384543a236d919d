"""`sentral report monthly [--month YYYY-MM] --folder DIR [--mail AGENCY=ADDRESS ...]`:
every agency's monthly report (reports/monthly.py) as PDF, XLSX and CSV in
`DIR/<agency>/<YYYY-MM>/`, mailed to the addresses given per agency (SMTP from
SENTRAL_SMTP_HOST/PORT/STARTTLS/USER/PASSWORD, channels/email/smtp.py). Without --month: the
previous month, so a timer on the 1st of each month is all the schedule it needs
(docs/reports.md). Exit 1 when an agency's mail failed (its files are written)."""
from __future__ import annotations

import os
import sys

ACTION = "monthly"


def add_arguments(p) -> None:
    p.add_argument("--month", metavar="YYYY-MM", help="monthly: the month (default: the previous one)")
    p.add_argument("--folder", metavar="DIR", help="monthly: where the agencies' files go")
    p.add_argument("--mail", action="append", default=[], metavar="AGENCY=ADDRESS",
                   help="monthly: mail that agency's files to ADDRESS (repeatable)")
    p.add_argument("--mail-from", metavar="ADDRESS", default=os.environ.get("SENTRAL_REPORT_FROM", ""),
                   help="monthly: the sender (default $SENTRAL_REPORT_FROM)")


def run(args, deployment_of, limits_of, url_of) -> int:
    from channels.email.smtp import SmtpConfig, send
    from engine.clock import utcnow
    from reports.errors import BadPeriod
    from reports.monthly import previous_month, write_monthly
    from sentral.process import open_store

    try:
        if not args.folder:
            raise BadPeriod("monthly needs --folder DIR")
        if not args.config:
            raise BadPeriod("monthly needs --config FILE (the agencies and their service-level targets)")
        recipients: dict[str, list[str]] = {}
        for item in args.mail:
            agency, sep, address = item.partition("=")
            if not sep or "@" not in address:
                raise BadPeriod(f"--mail {item!r}: write AGENCY=ADDRESS")
            recipients.setdefault(agency, []).append(address)
        if recipients and "@" not in args.mail_from:
            raise BadPeriod("--mail needs --mail-from ADDRESS (or $SENTRAL_REPORT_FROM)")
        deployment = deployment_of(args.config)
        unknown = sorted(set(recipients) - set(deployment.tenants))
        if unknown or (args.tenant and args.tenant not in deployment.tenants):
            raise BadPeriod(f"no agency {', '.join(unknown) or args.tenant} in {args.config}")
        month = args.month or previous_month(utcnow())
        url = url_of(args, deployment)
    except BadPeriod as exc:
        print(f"sentral report: {exc} [report]", file=sys.stderr)
        return 1
    store = open_store(url)
    try:
        config = SmtpConfig.from_env()
        result = write_monthly(lambda start, end: store.journal_of_period(start, end), deployment, month,
                               args.folder, limits_of(deployment, args.short_abandon), recipients, args.mail_from,
                               send=lambda msg: send(config, msg), tenants=[args.tenant] if args.tenant else None)
    except BadPeriod as exc:
        print(f"sentral report: {exc} [report]", file=sys.stderr)
        return 1
    finally:
        store.close()
    for agency, files in sorted(result.files.items()):
        mailed = f"; mailed to {', '.join(result.mailed[agency])}" if agency in result.mailed else ""
        print(f"{agency} {month}: {len(files)} files in {os.path.dirname(files[0])}{mailed}")
    for agency, why in sorted(result.failed.items()):
        print(f"sentral report: {agency}'s mail not sent: {why}", file=sys.stderr)
    return 1 if result.failed else 0
