"""A provider's SOAP inbox (``GetNewInboxMessages`` and the like), described by configuration.

The WSDL says how to call the service; the configuration says which operation to call, with
which arguments, and where the messages are in its response (``items``, ``fields``). zeep
builds and sends the request; the response bytes are handed to the poller unparsed, as an
envelope the poller journals and commits *before* :meth:`SoapSource.split` takes the items
out of it. That order is what makes a destructive call (one that marks messages read as it
returns them) safe: the bytes are on disk before anything can go wrong with them.

Modules, each with one job:

- ``wsdl``: loading the WSDL once per process; every access to zeep's private attributes;
- ``layout``: ``items`` and ``fields`` turned into element paths (a :class:`Plan`);
- ``xmlread``: a response's bytes to an XML tree (charsets, MTOM/XOP, no DTDs);
- ``envelope``: the pure reader of a journaled response's messages (no network, no clock);
- ``transport``: HTTP: credentials, the capped transport, the WSDL loader's import rules;
- ``failures``: the one table from (stage, whether the call consumes) to our error;
- ``session``: one poll's calls, in the destructive or the two-phase loop;
- ``source``: :class:`SoapSource`, what the poller sees, and :func:`from_config`.
"""

from dlrpoll.sources.soap.layout import Plan
from dlrpoll.sources.soap.session import SoapSession
from dlrpoll.sources.soap.source import ArgValue, SoapSource, chosen_port, from_config
from dlrpoll.sources.soap.wsdl import PortChoice, hardened_settings

__all__ = [
    "ArgValue",
    "Plan",
    "PortChoice",
    "SoapSession",
    "SoapSource",
    "chosen_port",
    "from_config",
    "hardened_settings",
]
