"""POP3 source: receipts forwarded to a mailbox, deleted only after they are journaled.

One module per job:

- ``source.py``: the configured source: connect, TLS, log in (retried), ``from_config``;
- ``session.py``: one logged-in session: windows of new messages, ``DELE``, ``QUIT``;
- ``listing.py``: ``LIST`` and ``UIDL``, and the keys of messages without a usable UIDL;
- ``wire.py``: the pipelined reader, which owns its read-ahead state;
- ``errors.py``: every third-party exception and server answer mapped to our errors;
- ``client.py``: ``poplib`` clients that never leak a socket.
"""

from dlrpoll.sources.pop3.errors import map_error
from dlrpoll.sources.pop3.session import Pop3Session
from dlrpoll.sources.pop3.source import Pop3Source, from_config

__all__ = ["Pop3Session", "Pop3Source", "from_config", "map_error"]
