"""Schema version 2 → 3: ``match_id`` in ``receipts`` and ``message_status``, indexed.

``match_id`` is the message id in the form the site's sending application stores it (the
profile's ``match_id`` rule); rows stored before it existed get their ``message_id``, which
is what the default rule (``verbatim``) gives, and each message's status the governing
receipt's. The columns are added where ``ALTER TABLE … ADD COLUMN`` puts them, last, with
the declaration a new file has, so a migrated file and a new one are alike.

Runs inside the migration's one write transaction: a failure leaves version 2 as it was.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Table, text
from sqlalchemy.schema import CreateColumn, CreateIndex

from dlrpoll.store.tables import message_status, receipts

log = logging.getLogger(__name__)

_INDEXES = ("ix_receipts_match_id", "ix_message_status_match_id")


def add_missing_columns(conn: Connection, table: Table) -> list[str]:
    """Add the columns of ``table``'s current definition that the database's table lacks,
    as a new file declares them; returns their names. Only columns with a server default
    (or nullable) can be added to a table with rows; the schema's later columns have one."""
    # the columns a query returns: dialect-neutral, and no index reflection (SQLAlchemy warns
    # that it cannot reflect the expression index the dedupe key is)
    have = set(conn.execute(text(f'SELECT * FROM "{table.name}" WHERE 1 = 0')).keys())
    added: list[str] = []
    for column in table.columns:
        if column.name in have:
            continue
        spec = CreateColumn(column).compile(dialect=conn.dialect)
        conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN {spec}')
        added.append(column.name)
    return added


def upgrade(conn: Connection) -> None:
    """Turn a version-2 database into a version-3 one, inside ``conn``'s transaction."""
    log.info("adding match_id to receipts and message_status (filled from message_id)")
    add_missing_columns(conn, receipts)
    add_missing_columns(conn, message_status)
    conn.execute(text("UPDATE receipts SET match_id = message_id WHERE match_id = ''"))
    conn.execute(
        text(
            "UPDATE message_status SET match_id = COALESCE((SELECT r.match_id FROM receipts "
            "AS r WHERE r.id = message_status.receipt_id), message_id) WHERE match_id = ''"
        )
    )
    for table in (receipts, message_status):
        for index in table.indexes:
            if index.name in _INDEXES:  # version 2's rebuild may have made them already
                conn.execute(CreateIndex(index, if_not_exists=True))
