"""Esendex push notifications, and message headers from its REST API.

Push notifications are small XML documents whose root element says what happened:
``<MessageDelivered>`` and ``<MessageFailed>`` hold ``Id`` (the notification's own id),
``MessageId`` (the message's), ``AccountId`` and ``OccurredAt`` (UTC, ``yyyy-MM-ddThh:mm:ss``
without a zone); a failure adds ``FailureReason`` (``Code``, ``Description``). So the status
is the root element's name. The REST API's ``<messageheaders>`` list holds one
``<messageheader id="…">`` per message with a ``status`` element (Submitted, Sent,
Scheduled on the way; Delivered, Failed, Expired final), ``laststatusat``, ``submittedat``
and ``to``/``from`` phone numbers. Sources: developers.esendex.com/api-reference (push
notifications, messageheaders).
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="esendex",
    title="Esendex",
    docs="https://developers.esendex.com/api-reference#push-notifications",
    reads="push notifications (<MessageDelivered>, <MessageFailed>: the root element is the "
    "status) and REST <messageheader>s",
    spec={
        "format": "keyvalue",
        "items": "messageheader",
        "fields": {
            "message_id": ["MessageId", "@id"],
            "status": ["status", "#root"],
            "error_code": "FailureReason.Code",
            "text": "FailureReason.Description",
            "dst_addr": "to.phonenumber",
            "src_addr": "from.phonenumber",
            "submitted_at": "submittedat",
            "done_at": ["OccurredAt", "laststatusat"],
        },
        "dates": {"submitted_at": "iso", "done_at": "iso"},
        "timezone": "UTC",
        "states": {
            "MessageDelivered": final("DELIVERED"),
            "MessageFailed": final("UNDELIVERABLE"),
            "Submitted": intermediate("ENROUTE"),
            "Sent": intermediate("ENROUTE"),
            "Scheduled": intermediate("SCHEDULED"),
            "Delivered": final("DELIVERED"),
            "Failed": final("UNDELIVERABLE"),
            "Expired": final("EXPIRED"),
        },
    },
    sample=(
        "<MessageDelivered><Id>6e2c3bd6-4d4b-4a2b-9b54-6a1f7d0e3c21</Id>"
        "<MessageId>f3a1c5d2-8b7e-4c6f-9a0d-1e2b3c4d5e6f</MessageId>"
        "<AccountId>0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d</AccountId>"
        "<OccurredAt>2024-11-05T12:30:05</OccurredAt></MessageDelivered>"
    ),
    detect=(
        ("#root=MessageDelivered", "MessageId"),
        ("#root=MessageFailed", "MessageId"),
        ("#root=messageheaders", "messageheader"),
        ("#root=messageheader", "laststatusat"),
    ),
)
