"""Receipt e-mails as providers forward them, for the mail servers' tests and benchmarks."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["receipt_email"]


def receipt_email(
    message_ids: Iterable[str] | str,
    *,
    stat: str = "DELIVRD",
    err: str = "000",
    done: str = "2401011201",
    subject: str = "Delivery receipt",
) -> bytes:
    """An e-mail as providers forward them (CRLF line ends): one SMPP Appendix B receipt per
    line of a text/plain body, one line per message id."""
    ids = [message_ids] if isinstance(message_ids, str) else list(message_ids)
    lines = [
        f"id:{mid} sub:001 dlvrd:001 submit date:2401011200 done date:{done} "
        f"stat:{stat} err:{err} text:hello"
        for mid in ids
    ]
    head = (
        "From: dlr@provider.example\r\n"
        "To: receipts@example.com\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{ids[0]}.{len(ids)}@provider.example>\r\n"
        "Date: Mon, 01 Jan 2024 12:01:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
    )
    return (head + "\r\n".join(lines) + "\r\n").encode("ascii")
