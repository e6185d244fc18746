"""Local stand-ins for a provider, for ``dlrpoll demo``, tests and benchmarks.

Nothing in the layers above imports this package. :class:`SoapInbox` serves a SOAP inbox
like the provider's ``SMS.asmx`` on 127.0.0.1.
"""

from dlrpoll.sandbox.soap_inbox import Injected, SoapInbox, smpp_receipts

__all__ = ["Injected", "SoapInbox", "smpp_receipts"]
