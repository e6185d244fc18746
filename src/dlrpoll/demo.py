"""``dlrpoll demo``: the whole pipeline against local sandboxes, in one command.

Starts a sandbox SOAP inbox (like the provider's ``SMS.asmx``) and two sandbox POP3 mailboxes
on 127.0.0.1, loads them with realistic receipts of every format (SMPP Appendix B text with
the provider's status words over SOAP, Ginota key/value receipts and SMPP receipts forwarded
by e-mail, a receipt seen twice, and a message that is no receipt at all), writes a config
for them, and polls each source once into a fresh SQLite file. It returns what happened as
data (:class:`DemoReport`); the CLI prints it. This module prints nothing.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from dlrpoll.config import load_config
from dlrpoll.counts import Outcome
from dlrpoll.poller import PollResult, utcnow
from dlrpoll.sandbox.pop3_server import Pop3Sandbox
from dlrpoll.sandbox.soap_inbox import SoapInbox
from dlrpoll.scheduling.round import poll_round, select_sources
from dlrpoll.status import status_data
from dlrpoll.store import Store, reports

log = logging.getLogger(__name__)

_DAY = datetime.now(UTC) - timedelta(hours=2)


def _smpp_date(when: datetime) -> str:
    return when.strftime("%y%m%d%H%M")


def _smpp(mid: str, stat: str, err: str = "000", minutes: int = 1, dlvrd: int = 1) -> str:
    sub = _DAY + timedelta(minutes=minutes)
    done = sub + timedelta(minutes=1)
    return (
        f"id:{mid} sub:001 dlvrd:{dlvrd:03d} submit date:{_smpp_date(sub)} "
        f"done date:{_smpp_date(done)} stat:{stat} err:{err} text:Your code is 4"
    )


#: SOAP inbox items: SMPP Appendix B receipts with Upside's status words. UNDELIV is not
#: final for this provider ("keep trying"), so 0A31F7 ends up DELIVERED. The last item is a
#: handset's reply, which shares the inbox with receipts.
SOAP_BODIES: tuple[str, ...] = (
    _smpp("0A31F2", "DELIVRD", minutes=1),
    _smpp("0A31F3", "SENT", minutes=2, dlvrd=0),
    _smpp("0A31F4", "REJECTD", err="011", minutes=3, dlvrd=0),
    _smpp("0A31F5", "DELIVRD", minutes=4),
    _smpp("0A31F6", "FAILED", err="069", minutes=5, dlvrd=0),
    _smpp("0A31F7", "UNDELIV", err="001", minutes=6, dlvrd=0),
    _smpp("0A31F7", "DELIVRD", minutes=16),
    # the inbox also holds replies from handsets: not a receipt, so it is quarantined
    "STOP please, no more messages",
)


def _mail(subject: str, body: str, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "DLR Gateway <dlr@gateway.example>"
    msg["To"] = "receipts@example.org"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(_DAY + timedelta(minutes=30 + n))
    msg["Message-ID"] = make_msgid(f"dlr{n}", "gateway.example")
    msg.set_content(body)
    return msg.as_bytes()


#: Ginota key/value receipts forwarded by e-mail; 18D64EC1EADE arrives twice (a duplicate),
#: and "4" (accepted by the operator) is intermediate for Ginota.
GINOTA_MAILS: tuple[bytes, ...] = (
    _mail(
        "DLR 18D64EC1EADD",
        "messageId=18D64EC1EADD&deliveryStatus=0&desc=Delivered"
        "&dstAddr=60123456789&srcAddr=MyCompany&txnRef=order-1001",
        1,
    ),
    _mail(
        "DLR 18D64EC1EADE",
        "messageId=18D64EC1EADE&deliveryStatus=4&desc=Accepted"
        "&dstAddr=60123456790&srcAddr=MyCompany&txnRef=order-1002",
        2,
    ),
    _mail(
        "DLR 18D64EC1EADE (resent)",
        "messageId=18D64EC1EADE&deliveryStatus=4&desc=Accepted"
        "&dstAddr=60123456790&srcAddr=MyCompany&txnRef=order-1002",
        3,
    ),
    _mail(
        "DLR 18D64EC1EADF",
        "messageId=18D64EC1EADF&deliveryStatus=1&desc=Expired"
        "&dstAddr=60123456791&srcAddr=MyCompany&txnRef=order-1003",
        4,
    ),
)

#: SMPP receipts forwarded by e-mail from an SMSC, and a bounce that is no receipt at all.
#: 0A31F2 was also delivered over SOAP: both sources share the "upside-account" dedupe scope,
#: so it is stored once.
SMPP_MAILS: tuple[bytes, ...] = (
    _mail("Delivery receipt", _smpp("7F00A1", "DELIVRD", minutes=20), 5),
    _mail("Delivery receipt", _smpp("7F00A2", "EXPIRED", err="027", minutes=21, dlvrd=0), 6),
    _mail("Delivery receipt", _smpp("0A31F2", "DELIVRD", minutes=1), 7),
    _mail(
        "Undeliverable: Delivery receipt",
        "This is the mail system at host relay.example.\n\n"
        "I'm sorry to have to inform you that your message could not be delivered.\n",
        8,
    ),
)

TOKEN = "demo-token"
SIGNATURE = "demo-signature"
PASSWORD = "demo-password"

CONFIG = """\
# written by `dlrpoll demo` or `dlrpoll sandbox`: three sources served by sandboxes on
# 127.0.0.1
[database]
path = "{database}"

[[sources]]
name = "upside-soap"
kind = "soap"
wsdl = "{wsdl}"
args = {{ token = {{ file = "token" }}, signature = {{ file = "signature" }} }}
profile = "upside"
dedupe_scope = "upside-account"
interval = "2m"
timeout = 10
retries = 0

[[sources]]
name = "ginota-mail"
kind = "pop3"
host = "127.0.0.1"
port = {ginota_port}
tls = "none"            # the sandbox has no TLS; never do this over a real network
allow_plaintext = true
username = "dlr"
password = {{ file = "pop3-password" }}
profile = "ginota"
interval = "2m"
timeout = 10
retries = 0

[[sources]]
name = "smsc-mail"
kind = "pop3"
host = "127.0.0.1"
port = {smsc_port}
tls = "none"
allow_plaintext = true
username = "dlr"
password = {{ file = "pop3-password" }}
profile = "smpp"
dedupe_scope = "upside-account"
interval = "2m"
timeout = 10
retries = 0
"""


def remove_database(database: Path) -> None:
    """Delete the demo database and its WAL files: every run starts fresh."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


@dataclass(frozen=True)
class DemoReport:
    """What the demo did: the config it wrote, one poll result per source, the status
    (:func:`dlrpoll.status.status_data`) and a few ``message_status`` rows afterwards."""

    database: Path
    config_text: str
    results: list[PollResult]
    status: dict[str, Any]
    sample: list[dict[str, object]]

    @property
    def exit_code(self) -> int:
        """0 when every poll succeeded."""
        return 1 if any(r.outcome == Outcome.ERROR for r in self.results) else 0


@contextmanager
def sandboxes(directory: Path, database: Path) -> Iterator[tuple[Path, str]]:
    """Serve a sandbox SOAP inbox and two POP3 mailboxes on 127.0.0.1, loaded with the
    demo's receipts, and write ``directory/dlrpoll.toml`` (with its secret files, mode 600)
    polling them into ``database``; yields the config's path and text."""
    with (
        SoapInbox(token=TOKEN, signature=SIGNATURE) as inbox,
        Pop3Sandbox(password=PASSWORD) as ginota,
        Pop3Sandbox(password=PASSWORD) as smsc,
    ):
        inbox.load(SOAP_BODIES)
        for mail in GINOTA_MAILS:
            ginota.add(mail)
        for mail in SMPP_MAILS:
            smsc.add(mail)
        directory.mkdir(parents=True, exist_ok=True)
        for name, value in (
            ("token", TOKEN),
            ("signature", SIGNATURE),
            ("pop3-password", PASSWORD),
        ):
            secret = directory / name
            secret.write_text(value + "\n", encoding="utf-8")
            os.chmod(secret, 0o600)
        text = CONFIG.format(
            database=database.as_posix(),
            wsdl=inbox.wsdl_url,
            ginota_port=ginota.port,
            smsc_port=smsc.port,
        )
        path = directory / "dlrpoll.toml"
        path.write_text(text, encoding="utf-8")
        yield path, text


def run_demo(database: Path) -> DemoReport:
    """Serve the sandboxes, poll each source once into ``database`` (replaced), and report."""
    database = database.resolve()
    remove_database(database)
    with (
        tempfile.TemporaryDirectory(prefix="dlrpoll-demo-") as tmp,
        sandboxes(Path(tmp), database) as (path, text),
    ):
        config = load_config(path)
        with Store(config.database_url) as store:
            results = poll_round(config, store, select_sources(config), workers=1)
            status = status_data(config, store, utcnow())
            sample = reports.message_sample(store, limit=12)
    return DemoReport(database, text, results, status, sample)
