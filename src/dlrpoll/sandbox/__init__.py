"""Local stand-ins for a provider, for ``dlrpoll demo``, ``dlrpoll sandbox``, tests and
benchmarks: :class:`~dlrpoll.sandbox.soap_inbox.SoapInbox` (a SOAP inbox like the provider's
``SMS.asmx``) and :class:`~dlrpoll.sandbox.pop3_server.Pop3Sandbox` (a small POP3 mailbox),
both on :class:`~dlrpoll.sandbox.server.SandboxServer`.

Nothing in the layers (sources, store, poller, scheduling) imports this package. Import the
module you need: this file imports nothing, so the POP3 sandbox does not pull in lxml.
"""
