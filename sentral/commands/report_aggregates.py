"""`sentral report fold|rebuild [--db URL] [--config FILE] [--apply]`: the stored report
aggregates (reports/aggregate.py, docs/metrics.md "Stored aggregates"), wired into the
`sentral report` parser by sentral/commands/report.py.

* `fold`: folds every journal row after the stored position into the aggregates (batches of
  20,000 rows, one transaction each) and prints how many; the engine process does the same
  every 60 s, so this is for a database no engine runs on (or to catch up at once);
* `rebuild`: recounts every aggregate from the raw journal with the configuration's
  service-level targets (`--config`; 20 s without) and `--short-abandon`, prints each stored
  figure that differs (exit 1 when one does); `--apply` stores the recount and its position
  instead (exit 0), in one transaction: run it after changing a target.
"""
from __future__ import annotations

import os
import sys

ACTIONS = ("fold", "rebuild")
SHOWN = 100          # differences printed; the rest are counted


def add_arguments(p) -> None:
    p.add_argument("--apply", action="store_true",
                   help="rebuild: replace the stored aggregates with the recount (default: only compare)")


def run(args) -> int:
    from reports import aggregate
    from reports.figures import Limits
    from sentral.process import open_store
    from store.errors import StoreError

    deployment = _deployment(args.config)
    if deployment is False:
        return 1
    url = args.db or os.environ.get("SENTRAL_DATABASE_URL") or (deployment.database_url if deployment else None)
    if not url:
        print("sentral report: no database: --db URL, $SENTRAL_DATABASE_URL or --config FILE [report]", file=sys.stderr)
        return 1
    short = getattr(args, "short_abandon", 5.0)
    limits = aggregate.limits_of(deployment, short) if deployment else Limits(short_abandon=short)
    try:
        store = open_store(url)
    except StoreError as exc:
        print(f"sentral report: {exc} [report]", file=sys.stderr)
        return 1
    try:
        if args.kind == "fold":
            return _fold(store, limits)
        return _rebuild(store, limits, args.apply)
    finally:
        store.close()


def _fold(store, limits) -> int:
    from reports.aggregate import fold_all

    report = fold_all(store, limits)
    print(f"folded {report.rows} journal rows ({report.interactions} calls) into the report aggregates; "
          f"position {report.position}")
    if report.busy:
        print("sentral report: another fold or rebuild holds the aggregates; the rest waits for it", file=sys.stderr)
    if report.limits_differ:
        print("sentral report: the aggregates were counted with other service-level targets; "
              "'sentral report rebuild --apply' recounts them with these", file=sys.stderr)
    return 0


def _rebuild(store, limits, apply: bool) -> int:
    from reports.aggregate import rebuild

    report = rebuild(store, limits, apply)
    print(f"recounted {report.rows} journal rows ({report.interactions} calls): {report.recomputed_rows} figure rows "
          f"up to journal id {report.new_position}; stored: {report.stored_rows} rows up to {report.position}")
    if report.limits_changed:
        print("the stored figures were counted with other limits than these")
    for difference in report.differences[:SHOWN]:
        print(f"  {difference}")
    if len(report.differences) > SHOWN:
        print(f"  ... and {len(report.differences) - SHOWN} more")
    print(f"{len(report.differences)} difference(s); "
          + ("the recount is stored" if apply else "nothing changed (--apply stores the recount)"))
    return 0 if apply or not report.differences else 1


def _deployment(path: str | None):
    """The configuration (None without one), or False when it is invalid (said on stderr)."""
    from sentral.commands.report import Refused, _deployment as load_config

    try:
        return load_config(path)
    except Refused as exc:
        print(f"sentral report: {exc} [report]", file=sys.stderr)
        return False
