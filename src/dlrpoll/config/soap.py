"""``kind = "soap"`` settings: a provider's SOAP inbox such as ``GetNewInboxMessages``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from dlrpoll.config.secrets import SecretValue
from dlrpoll.config.source_base import SourceBase
from dlrpoll.config.values import Size


class SoapSourceConfig(SourceBase):
    """``kind = "soap"``: a provider's SOAP inbox such as ``GetNewInboxMessages``."""

    kind: Literal["soap"]
    wsdl: str
    endpoint: str | None = None
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
