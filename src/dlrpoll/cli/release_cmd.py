"""``dlrpoll release SOURCE``: clear a source's lease whose holder is gone; and how
``status`` shows a lease.

A lease is void by itself once its holder's process is gone from this machine, or once it
runs out; this command is for the operator who wants to see it gone now. It refuses a lease
that is still live (its holder renews it, or could: it runs on another machine and its lease
has not run out) unless ``--force``: forcing it lets another poller start while the holder
may still be polling. The two-minute floor is never cleared: it counts from the last poll's
start, whoever ran it.
"""

from __future__ import annotations

import argparse
from typing import Any

from dlrpoll.cli import common
from dlrpoll.errors import DlrpollError

EPILOG = """\
examples:
  dlrpoll release provider-a          # its poller was killed; `dlrpoll status` says "gone"
  dlrpoll release provider-a --force  # also a live lease (the holder may still be polling!)

Exit status 0 when the lease was cleared or there was none, 1 when a live lease was left.
"""


def register(sub: Any) -> None:
    """Add ``release``."""
    p = sub.add_parser(
        "release",
        help="clear a source's lease whose holder is gone",
        description="Clear the lease on SOURCE left by a poller that is gone. The floor "
        "(its interval since the last poll's start) still applies.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="SOURCE", help="the source's name in the config")
    p.add_argument(
        "--force", action="store_true", help="clear a live lease too (its holder may still poll)"
    )
    common.add_config_option(p)
    common.add_common_options(p)
    p.set_defaults(handler=cmd_release)


def cmd_release(args: argparse.Namespace) -> int:
    from dlrpoll.poller import utcnow
    from dlrpoll.store import Store, reports

    config = common.config_from(args)
    name = config.settings.source(args.source).name  # an unknown name is a ConfigError
    with Store(config.database_url, busy_timeout=config.settings.database.busy_timeout) as store:
        lease = store.leases([name]).get(name)
        holder = lease.holder if lease is not None else None
        if lease is None or holder is None:
            print(f"{name}: no lease to release")
            return 0
        state = lease.state(utcnow())
        until = reports.to_text(lease.until) if lease.until else "?"
        if state == "held" and not args.force:
            raise DlrpollError(
                f"{name}: the lease of {holder.name} is live until {until} (its holder renews "
                f"it while it polls); wait for it, stop that poller, or add --force if you "
                f"are sure it is gone (two polls of the source could otherwise overlap)"
            )
        if not store.clear_lease(name, holder):
            print(f"{name}: the lease of {holder.name} was already released or taken over")
            return 0
    what = {"held": "live", "gone": "holder gone", "expired": "ran out"}.get(state, state)
    print(f"{name}: released the lease of {holder.name} ({what}, until {until})")
    return 0
