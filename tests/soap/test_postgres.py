"""A whole SOAP poll into PostgreSQL, configured by URL in TOML as a user would: the counts
come from the rows inserted (psycopg's rowcount for a batched ``INSERT … ON CONFLICT DO
NOTHING`` once made 700 new receipts read ``stored -3, duplicates 703``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dlrpoll.config import SoapSourceConfig, load_config
from dlrpoll.poller import poll_source
from dlrpoll.sandbox.soap_inbox import SoapInbox
from dlrpoll.sources import RetryPolicy, make_source
from dlrpoll.store import Store
from tests.soap.conftest import sandbox_toml, smpp


def test_a_soap_poll_into_postgresql_counts_what_it_inserted(
    inbox: SoapInbox, postgres_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "dlrpoll.toml"
    path.write_text(f'[database]\nurl = "{postgres_url}"\n{sandbox_toml(inbox)}')
    os.chmod(path, 0o600)
    config = load_config(path)
    cfg = config.settings.sources[0]
    assert isinstance(cfg, SoapSourceConfig)
    start = datetime.now(UTC)
    with Store(config.database_url) as store:
        assert store.engine.dialect.name == "postgresql"

        def poll(n: int) -> tuple[str, int, int, int]:
            source = make_source(config, cfg, RetryPolicy(attempts=1))
            at = start + timedelta(minutes=3 * n)
            r = poll_source(config, cfg, source, store, clock=lambda: at)
            return r.outcome, r.fetched, r.stored, r.duplicates

        inbox.load(smpp(n) for n in range(700))
        assert poll(0) == ("ok", 700, 700, 0)
        # the same receipts again, as new messages of the inbox: every one a duplicate
        inbox.load(smpp(n) for n in range(700))
        assert poll(1) == ("ok", 700, 0, 700)
        assert poll(2) == ("ok", 0, 0, 0)
        with store.reader() as conn:
            stored = conn.exec_driver_sql(
                "SELECT count(*), count(DISTINCT message_id) FROM receipts"
            ).one()
            runs = conn.exec_driver_sql(
                "SELECT stored, duplicates FROM poll_runs ORDER BY started_at"
            ).all()
    assert tuple(stored) == (700, 700)
    assert [tuple(r) for r in runs] == [(700, 0), (0, 700), (0, 0)]
