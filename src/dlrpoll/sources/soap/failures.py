"""The one table that turns every failure of a SOAP source into one of our errors.

A failure is first named by its :class:`Stage` where it happens (the transport, the WSDL
loader, the session's status check classify third-party exceptions and HTTP answers into a
stage, ``raise … from exc``); :data:`TABLE` then decides, by stage and by whether the call
consumes what it returns (a destructive ``GetNewInboxMessages``), which error it is and what
its message says. Nowhere else decides that.

A rule without an error class means "not an exception": the part of the response that
arrived is journaled with the rule's message as its ``parse_error`` (a response cut off after
the provider marked its messages read is the only copy of what did arrive).

    stage            consuming call                 any other call
    ─────────────    ───────────────────────────    ──────────────────────────
    connect          SourceConnectError             SourceConnectError
    tls              SourceTLSError                 SourceTLSError
    lost             PossibleLossError (logged)     SourceTimeoutError
    truncated        journal prefix (logged)        SourceConnectError
    too-large        journal prefix (logged)        journal prefix (logged)
    redirect         SourceProtocolError            SourceProtocolError
    http-5xx         SourceProtocolError            TemporarySourceError
    http-status      SourceProtocolError            SourceProtocolError
    fault-auth       SourceAuthError                SourceAuthError
    fault            SourceProtocolError            SourceProtocolError
    args             ConfigError                    ConfigError
    request          SourceProtocolError            SourceProtocolError
    wsdl-*           (loading a WSDL never consumes: one rule each)
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum

from dlrpoll.errors import (
    ConfigError,
    DlrpollError,
    PossibleLossError,
    SourceAuthError,
    SourceConnectError,
    SourceError,
    SourceProtocolError,
    SourceResponseError,
    SourceTimeoutError,
    SourceTLSError,
    TemporarySourceError,
)

log = logging.getLogger(__name__)


class Stage(StrEnum):
    """Where a SOAP source's failure happened."""

    #: loading the WSDL: the TLS handshake or certificate failed
    WSDL_TLS = "wsdl-tls"
    #: loading the WSDL: no connection, or it dropped or timed out
    WSDL_UNREACHABLE = "wsdl-unreachable"
    #: loading the WSDL: a local file cannot be read
    WSDL_UNREADABLE = "wsdl-unreadable"
    #: loading the WSDL: the server answered an HTTP error
    WSDL_HTTP = "wsdl-http"
    #: loading the WSDL: what arrived is not a WSDL zeep can use
    WSDL_INVALID = "wsdl-invalid"
    #: loading the WSDL: it leads off its own origin (an import, a redirect)
    WSDL_REFUSED = "wsdl-refused"
    #: building a call: the configured arguments do not fit the operation
    ARGS = "args"
    #: building a call: zeep could not serialize the request
    REQUEST = "request"
    #: no connection was made: nothing was sent
    CONNECT = "connect"
    #: the TLS handshake or certificate failed: nothing was sent
    TLS = "tls"
    #: the request may have been sent, and no response came (read timeout, reset)
    LOST = "lost"
    #: the response broke off after some of it arrived
    TRUNCATED = "truncated"
    #: the response is larger than ``max_response_size``
    TOO_LARGE = "too-large"
    #: a redirect that would turn the POST into a GET or send it to another host
    REDIRECT = "redirect"
    #: an HTTP 5xx answer that is not a SOAP fault
    HTTP_5XX = "http-5xx"
    #: any other answer but 200 that is not a SOAP fault
    HTTP_STATUS = "http-status"
    #: a SOAP fault that says the credentials were refused
    FAULT_AUTH = "fault-auth"
    #: any other SOAP fault
    FAULT = "fault"


_WSDL_STAGES = frozenset(s for s in Stage if s.value.startswith("wsdl-"))


@dataclass(frozen=True)
class Rule:
    """What a failure becomes: ``error`` (``None``: journal what arrived, with the message as
    its reason) and the message, a :meth:`str.format` template over the failure's words. A
    :class:`ConfigError` names the setting to fix: its template starts with ``{where}``, the
    source and its key path (:meth:`~dlrpoll.config.SourceBase.where`)."""

    error: type[DlrpollError] | None
    message: str
    #: also said at ERROR in the log: receipts may be gone, or only a part was kept
    loud: bool = False


#: a consuming call's response kept only in part: what the issue's rule says it must say
_MARKED_READ = (
    "the provider has marked the messages in this response read as it answered, so the part "
    "journaled is now the only copy of those in it, and receipts in the rest are not in the "
    "journal: look for them in the provider's web inbox"
)
_LOST = (
    "{operation} was sent but its response was lost ({detail}): receipts may have been "
    "marked read on the server and are not in the journal. Not retried; check the provider's "
    'web inbox, or use mode = "two-phase" where the provider offers it'
)
_TOO_LARGE = (
    "{operation}: {detail}; the first {kept} bytes are journaled. Raise max_response_size if "
    "the provider really sends this much"
)
_HTTP = "{operation} answered HTTP {status}; expected 200 with a SOAP envelope"
_FAULT = "{operation} failed with SOAP fault {code}: {text}"


def _both(rule: Rule) -> dict[bool, Rule]:
    return {True: rule, False: rule}


_RULES: dict[Stage, dict[bool, Rule]] = {
    Stage.WSDL_TLS: {False: Rule(SourceTLSError, "loading the WSDL {wsdl}: {detail}")},
    Stage.WSDL_UNREACHABLE: {
        False: Rule(SourceConnectError, "cannot fetch the WSDL {wsdl}: {detail}")
    },
    Stage.WSDL_UNREADABLE: {False: Rule(ConfigError, "{where}.wsdl: cannot read {wsdl}: {detail}")},
    Stage.WSDL_HTTP: {False: Rule(SourceProtocolError, "cannot fetch the WSDL {wsdl}: {detail}")},
    Stage.WSDL_INVALID: {
        False: Rule(SourceResponseError, "{wsdl} is not a WSDL dlrpoll can use: {detail}")
    },
    Stage.WSDL_REFUSED: {False: Rule(SourceResponseError, "cannot use the WSDL {wsdl}: {detail}")},
    Stage.ARGS: _both(
        Rule(
            ConfigError,
            "{where}.args: {operation} does not accept these arguments ({given}); it takes {takes}",
        )
    ),
    Stage.REQUEST: _both(
        Rule(SourceProtocolError, "cannot build the {operation} request: {detail}")
    ),
    Stage.CONNECT: _both(Rule(SourceConnectError, "cannot connect for {operation}: {detail}")),
    Stage.TLS: _both(
        Rule(
            SourceTLSError, "TLS failed for {operation}: {detail}; check the certificate or ca_file"
        )
    ),
    Stage.LOST: {
        True: Rule(PossibleLossError, _LOST, loud=True),
        # nothing is marked read before the read flag: safe to try again
        False: Rule(SourceTimeoutError, "{operation}: the response was lost ({detail})"),
    },
    Stage.TRUNCATED: {
        True: Rule(
            None,
            "{operation}: {detail}; the part that arrived is journaled; " + _MARKED_READ,
            loud=True,
        ),
        False: Rule(SourceConnectError, "{operation}: {detail}"),
    },
    Stage.TOO_LARGE: {
        True: Rule(None, _TOO_LARGE + "; " + _MARKED_READ, loud=True),
        False: Rule(None, _TOO_LARGE, loud=True),
    },
    Stage.REDIRECT: _both(Rule(SourceProtocolError, "{operation}: {detail}")),
    Stage.HTTP_5XX: {
        True: Rule(SourceProtocolError, _HTTP),
        False: Rule(TemporarySourceError, _HTTP),
    },
    Stage.HTTP_STATUS: _both(Rule(SourceProtocolError, _HTTP)),
    Stage.FAULT_AUTH: _both(Rule(SourceAuthError, _FAULT + "; check the token/signature in args")),
    Stage.FAULT: _both(Rule(SourceProtocolError, _FAULT)),
}

#: (stage, whether the call consumes what it returns) → what the failure becomes
TABLE: dict[tuple[Stage, bool], Rule] = {
    (stage, consuming): rule
    for stage, by_mode in _RULES.items()
    for consuming, rule in by_mode.items()
}


def expected_keys() -> set[tuple[Stage, bool]]:
    """Every (stage, consuming) pair that can happen: a WSDL is never loaded by a consuming
    call; every call stage happens in both modes."""
    return {
        (stage, consuming)
        for stage in Stage
        for consuming in (False, True)
        if not (consuming and stage in _WSDL_STAGES)
    }


def verdict(source: str, stage: Stage, *, consuming: bool, **words: object) -> DlrpollError | str:
    """The failure's verdict from :data:`TABLE`: the error to raise, or the reason to journal
    the part that arrived with. Says it at ERROR too when the rule is loud."""
    rule = TABLE[(stage, consuming)]
    message = rule.message.format(source=source, **words)
    if rule.loud:
        log.error("source %s: %s", source, message)
    if rule.error is None:
        return message
    if issubclass(rule.error, SourceError):
        return rule.error(source, message)
    return rule.error(message)


def problem(source: str, stage: Stage, *, consuming: bool, **words: object) -> str:
    """Raises the error :data:`TABLE` names for the failure, or returns the reason to journal
    the part that arrived with."""
    found = verdict(source, stage, consuming=consuming, **words)
    if isinstance(found, str):
        return found
    raise found


def error(source: str, stage: Stage, *, consuming: bool = False, **words: object) -> DlrpollError:
    """The error :data:`TABLE` names for a failure that is always an error, to ``raise …
    from exc`` at the I/O edge."""
    found = verdict(source, stage, consuming=consuming, **words)
    if isinstance(found, str):
        raise AssertionError(f"the failure table journals {stage}; expected an error")
    return found


def short(exc: BaseException) -> str:
    """An exception's text, cut to a line's worth."""
    text = str(exc)
    return text if len(text) < 300 else text[:297] + "..."


_AUTH_WORDS = re.compile(r"token|signature|auth|credential|password|login|account|key", re.I)


def fault_stage(code: str, text: str) -> Stage:
    """A client fault that speaks of credentials is an auth failure; any other is a fault."""
    if code.rsplit(":", 1)[-1] in ("Client", "Sender") and _AUTH_WORDS.search(text):
        return Stage.FAULT_AUTH
    return Stage.FAULT
