"""OAuth2 sign-in for the mail sources (IMAP, POP3): SASL ``XOAUTH2`` and ``OAUTHBEARER``
(:mod:`.sasl`), where access tokens come from and how long they are kept (:mod:`.tokens`,
:mod:`.microsoft`, :mod:`.google`), a source's sign-in (:mod:`.signin`), POP3's two-step
``AUTH`` (:mod:`.pop3`) and what a token says about itself (:mod:`.jwt`, :mod:`.report`).

``msal`` and ``google-auth`` are optional extras, imported only when a source uses them.
"""

from dlrpoll.sources.oauth.sasl import (
    MECHANISMS,
    challenge_answer,
    decode_challenge,
    initial_response,
    oauthbearer,
    xoauth2,
)
from dlrpoll.sources.oauth.signin import OAuthSignIn, Refused, sign_in_for
from dlrpoll.sources.oauth.tokens import (
    REFRESH_MARGIN,
    AccessToken,
    CommandToken,
    FileToken,
    TokenCache,
    TokenSource,
)

__all__ = [
    "MECHANISMS",
    "REFRESH_MARGIN",
    "AccessToken",
    "CommandToken",
    "FileToken",
    "OAuthSignIn",
    "Refused",
    "TokenCache",
    "TokenSource",
    "challenge_answer",
    "decode_challenge",
    "initial_response",
    "oauthbearer",
    "sign_in_for",
    "xoauth2",
]
