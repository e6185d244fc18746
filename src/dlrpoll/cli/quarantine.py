"""``dlrpoll quarantine``: list, show and dismiss quarantined raw items."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll quarantine                                   # list what waits
  dlrpoll quarantine list --source upside --reason-like 'no receipt'
  dlrpoll quarantine show 1234                         # the raw item, safely printed
  dlrpoll quarantine show 1234 --raw > item.eml        # the exact bytes
  dlrpoll quarantine dismiss 1234 1235
  dlrpoll quarantine dismiss --source upside --reason-like 'STOP'

A quarantined item is a raw item dlrpoll kept but could not read as a receipt (see its
reason). Fix the profile and run `dlrpoll reparse`, or dismiss it: it stays in the journal
(raw_messages.dismissed_at is set) and no longer counts in `status` or the
dlrpoll_quarantined metric. `list` and `show` need only read access to the database.
"""

PREVIEW = 100


def register(sub: Any) -> None:
    p = common.add_command(
        sub, "quarantine", "list, show and dismiss quarantined raw items", EPILOG
    )
    common.add_config_option(p)
    p.set_defaults(handler=handle_list, source=None, reason_like=None, all=False, limit=None)
    actions = p.add_subparsers(dest="action", metavar="ACTION")

    ls = actions.add_parser("list", help="list quarantined items (the default)")
    _filters(ls)
    ls.add_argument("--all", action="store_true", help="include dismissed items (default: off)")
    ls.add_argument("--limit", type=int, metavar="N", help="at most N items (default: all)")
    ls.set_defaults(handler=handle_list)

    show = actions.add_parser("show", help="print one raw item and its reason")
    show.add_argument("id", type=int, metavar="ID")
    show.add_argument(
        "--raw", action="store_true", help="write the exact bytes to stdout (default: off)"
    )
    _options(show)
    show.set_defaults(handler=handle_show)

    dis = actions.add_parser("dismiss", help="mark items as seen: kept, no longer counted")
    dis.add_argument("ids", type=int, nargs="*", metavar="ID")
    _filters(dis)
    dis.set_defaults(handler=handle_dismiss)


def _options(parser: argparse.ArgumentParser) -> None:
    common.add_config_option(parser)
    common.add_common_options(parser)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="NAME", help="only this source (default: all)")
    parser.add_argument(
        "--reason-like",
        metavar="TEXT",
        help="only items whose reason contains TEXT (default: any reason)",
    )
    _options(parser)


def handle_list(args: argparse.Namespace) -> int:
    from dlrpoll.quarantine import list_items, printable

    items = list_items(
        common.config_from(args, secrets=False),
        source=args.source,
        reason_like=args.reason_like,
        dismissed=args.all,
        limit=args.limit,
    )
    if not items:
        common.Output(args.quiet).info("nothing quarantined")
        return 0
    for item in items:
        preview = printable(item.payload, keep_newlines=False)
        preview = " ".join(preview.split())
        if len(preview) > PREVIEW or item.size > len(item.payload):
            preview = preview[:PREVIEW] + "…"
        flag = f" (dismissed {item.dismissed_at})" if item.dismissed_at else ""
        print(
            f"{item.raw_id}  {item.source}  {item.fetched_at}  {item.format}  "
            f"{item.size} bytes{flag}"
        )
        print(f"    reason: {printable_str(item.reason)}")
        print(f"    {preview}")
    return 0


def printable_str(text: str) -> str:
    from dlrpoll.quarantine import printable

    return printable(text.encode("utf-8"), keep_newlines=False)


def handle_show(args: argparse.Namespace) -> int:
    from dlrpoll.quarantine import printable, show

    item = show(common.config_from(args, secrets=False), args.id)
    if args.raw:
        sys.stdout.buffer.write(item.payload)
        sys.stdout.flush()
        return 0
    print(f"id: {item.raw_id}")
    print(f"source: {item.source}")
    print(f"remote id: {item.remote_id or '-'}")
    print(f"fetched: {item.fetched_at}")
    print(f"format: {item.format}, {item.size} bytes")
    print(f"reason: {printable_str(item.reason) or '(not quarantined)'}")
    if item.dismissed_at:
        print(f"dismissed: {item.dismissed_at}")
    print("-" * 40)
    print(printable(item.payload))
    return 0


def handle_dismiss(args: argparse.Namespace) -> int:
    from dlrpoll.poller import utcnow
    from dlrpoll.quarantine import dismiss

    marked = dismiss(
        common.config_from(args, secrets=False),
        utcnow(),
        ids=args.ids,
        source=args.source,
        reason_like=args.reason_like,
    )
    missing = sorted(set(args.ids) - set(marked))
    out = common.Output(args.quiet)
    out.info(f"dismissed {len(marked)} item(s)" + (f": {_ids(marked)}" if marked else ""))
    if missing:
        print(f"warning: not quarantined or already dismissed: {_ids(missing)}", file=sys.stderr)
        return 1  # a typo'd id must not look like success to a script
    return 0


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:20])
    return shown + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
