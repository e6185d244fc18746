"""``kind = "soap"`` settings: a provider's SOAP inbox such as ``GetNewInboxMessages``."""

from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from dlrpoll.config.secrets import SecretValue
from dlrpoll.config.source_base import Model, SourceBase
from dlrpoll.config.values import Size


class HttpAuth(Model):
    """``http_auth``: HTTP Basic or Digest credentials, for the WSDL and every call."""

    type: Literal["basic", "digest"] = "basic"
    username: str
    password: SecretValue


class Wsse(Model):
    """``wsse``: a WS-Security UsernameToken in every call's SOAP header."""

    username: str
    password: SecretValue
    #: send a PasswordDigest (with nonce and created time) instead of the password
    digest: bool = False


def _no_password_in_url(value: str | None) -> str | None:
    # never echo the URL: it holds the password this refuses
    if value is not None and "://" in value and urlsplit(value).password is not None:
        raise ValueError(
            "a URL must not hold a password (it would show in logs and check-config); "
            'write http_auth = { username = "…", password = { env = "NAME" } } instead'
        )
    return value


class SoapSourceConfig(SourceBase):
    """``kind = "soap"``: a provider's SOAP inbox such as ``GetNewInboxMessages``."""

    kind: Literal["soap"]
    wsdl: str
    endpoint: str | None = None
    #: which of the WSDL's services and ports to call (default: the first SOAP 1.1 port,
    #: else the first SOAP 1.2 one; HTTP GET/POST bindings never)
    service: str | None = None
    port: str | None = None
    http_auth: HttpAuth | None = None
    #: extra HTTP headers (an API key): secrets, like every value here
    http_headers: dict[str, SecretValue] = Field(default_factory=dict)
    wsse: Wsse | None = None
    operation: str = "GetNewInboxMessages"
    mode: Literal["destructive", "two-phase"] = "destructive"
    args: dict[str, SecretValue | int | float | bool] = Field(default_factory=dict)
    items: str = "NewSMSMessage"
    fields: dict[str, str] = Field(
        default_factory=lambda: {"remote_id": "messageid", "body": "data", "sender": "sender"}
    )
    batch_limit: int = Field(default=300, ge=1)
    max_batches: int = Field(default=10, ge=1)
    #: two-phase mode: the peek operation, where its one message is in the result (dotted
    #: path like ``items``; empty when the result is the message), and the operation that sets
    #: the read flag with the message's remote id as its ``ack_arg`` argument
    peek_operation: str = "GetTopMessageNoReset"
    peek_items: str = ""
    ack_operation: str = "SetMessageReadFlag"
    ack_arg: str = "messageId"
    max_response_size: Size = 32 * 1024 * 1024
    #: a CA bundle for a provider whose certificate a private CA signed (verification stays on)
    ca_file: str | None = None
    #: receipts from the SOAP inbox that auto does not detect are Upside's (its old default)
    auto_fallback: ClassVar[str] = "upside"

    _urls = field_validator("wsdl", "endpoint")(_no_password_in_url)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - {"remote_id", "body", "sender", "received_at"}
        if unknown:
            raise ValueError(
                f"unknown field name(s) {sorted(unknown)}; use remote_id, body, sender, received_at"
            )
        if "body" not in v:
            raise ValueError("must name the element holding the receipt text as body")
        return v

    @model_validator(mode="after")
    def _two_phase_needs_ids(self) -> SoapSourceConfig:
        if self.mode == "two-phase" and "remote_id" not in self.fields:
            raise ValueError(
                'mode = "two-phase" sets the read flag by message id: name its element in '
                "fields.remote_id"
            )
        return self
