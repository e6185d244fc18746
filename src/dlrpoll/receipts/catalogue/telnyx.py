"""Telnyx messaging webhooks (``message.sent``, ``message.finalized``).

One JSON event: ``data.event_type``, and the message in ``data.payload``: its ``id``, the
recipient and its delivery status in ``to[0]`` (``phone_number``, ``status``), the sender in
``from.phone_number``, ``sent_at`` and ``completed_at`` (ISO-8601 with offset), and
``errors[]`` (``code``, ``title``) when it failed. Statuses queued, sending, sent are on the
way; delivered, sending_failed, delivery_failed, delivery_unconfirmed are terminal
(``message.finalized``). Note that ``data.id`` is the event's id, not the message's.
Source: developers.telnyx.com/docs/messaging/messages/receiving-webhooks.
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="telnyx",
    title="Telnyx",
    docs="https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks",
    reads="webhook events: data.payload.id, to[0].status, to[0].phone_number, errors[0].code",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "data.payload.id",
            "status": "data.payload.to[0].status",
            "error_code": "data.payload.errors[0].code",
            "text": "data.payload.errors[0].title",
            "dst_addr": "data.payload.to[0].phone_number",
            "src_addr": "data.payload.from.phone_number",
            "submitted_at": "data.payload.sent_at",
            "done_at": "data.payload.completed_at",
        },
        "dates": {"submitted_at": "iso", "done_at": "iso"},
        "states": {
            "queued": intermediate("ENROUTE"),
            "sending": intermediate("ENROUTE"),
            "sent": intermediate("ENROUTE"),
            "delivered": final("DELIVERED"),
            "sending_failed": final("REJECTED"),
            "delivery_failed": final("UNDELIVERABLE"),
            "delivery_unconfirmed": final("UNKNOWN"),
            "expired": final("EXPIRED"),
        },
    },
    sample=(
        '{"data": {"event_type": "message.finalized", "id": "4ee8c3a6-4995-4309-a3c6-'
        '38e3db9ea4be", "occurred_at": "2019-12-09T21:32:14.148+00:00", "payload": {'
        '"id": "40385f64-5717-4562-b3fc-2c963f66afa6", "completed_at": '
        '"2019-12-09T21:32:14.148+00:00", "sent_at": "2019-12-09T21:32:13.552+00:00", '
        '"from": {"phone_number": "+18445550001"}, "to": [{"phone_number": "+18665550001", '
        '"status": "delivered"}], "errors": []}, "record_type": "event"}}'
    ),
    detect=(("data.event_type", "data.payload.to[0].status"),),
)
