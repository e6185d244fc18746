"""Twilio Programmable Messaging status callbacks.

Form fields posted to the ``StatusCallback`` URL: ``MessageSid`` (older callbacks also, or
only, ``SmsSid``), ``MessageStatus`` (``SmsStatus``), ``ErrorCode`` for undelivered and
failed messages, ``From``, ``To``, and on delivered/undelivered callbacks ``RawDlrDoneDate``,
the carrier receipt's done date passed through as ``YYMMDDhhmm`` without a zone (Twilio:
"the timezone offset varies between carrier partners"). ``failed`` means Twilio could not
send the message at all; ``undelivered`` that the carrier reported it undelivered.
Sources: twilio.com/docs/messaging/guides/track-outbound-message-status, the message
resource's status values, and the RawDlrDoneDate changelog of 2023-02-14.
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="twilio",
    title="Twilio",
    docs="https://www.twilio.com/docs/messaging/guides/track-outbound-message-status",
    reads="status callbacks: MessageSid, MessageStatus, ErrorCode, From, To, RawDlrDoneDate",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": ["MessageSid", "SmsSid"],
            "status": ["MessageStatus", "SmsStatus"],
            "error_code": "ErrorCode",
            "src_addr": "From",
            "dst_addr": "To",
            "done_at": "RawDlrDoneDate",
        },
        "dates": {"done_at": "smpp"},
        "states": {
            "accepted": intermediate("ACCEPTED"),
            "scheduled": intermediate("SCHEDULED"),
            "queued": intermediate("ENROUTE"),
            "sending": intermediate("ENROUTE"),
            "sent": intermediate("ENROUTE"),
            "delivered": final("DELIVERED"),
            "read": final("DELIVERED"),
            "undelivered": final("UNDELIVERABLE"),
            "failed": final("REJECTED"),
            "canceled": final("DELETED"),
        },
    },
    sample=(
        "MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&SmsSid=SM1f0e8ae6ade43cb3c0ce4525424e404f"
        "&AccountSid=AC00000000000000000000000000000000&MessageStatus=delivered"
        "&SmsStatus=delivered&From=%2B15017122661&To=%2B15558675310"
        "&RawDlrDoneDate=2411051232&ApiVersion=2010-04-01"
    ),
    detect=(("MessageSid", "MessageStatus"), ("SmsSid", "SmsStatus")),
)
