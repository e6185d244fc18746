"""BulkSMS JSON REST API webhooks (``status-report`` events).

The body is a JSON array of message objects, the same shape as the List Messages call:
``id``, ``from``/``to`` (objects with an ``address``, or plain numbers), ``userSuppliedId``
(your reference), ``submission`` (``id``, ``date``) and ``status``: its ``type`` (ACCEPTED,
SCHEDULED, SENT on the way; DELIVERED; FAILED) with a ``subtype``, or, as the webhook page
shows it, ``condition``, ``date``, ``cause`` and ``final``. Dates are ISO-8601 UTC. Sources:
bulksms.com/developer/webhooks and developer.bulksms.com/json/v1 (message statuses).
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="bulksms",
    title="BulkSMS",
    docs="https://www.bulksms.com/developer/webhooks/",
    reads="webhook arrays of messages: id, status.type/condition, status.date, to, userSuppliedId",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "id",
            "status": ["status.type", "status.condition"],
            "error_code": "status.subtype",
            "text": "status.cause",
            "dst_addr": ["to.address", "to"],
            "src_addr": ["from.address", "from"],
            "client_ref": "userSuppliedId",
            "submitted_at": "submission.date",
            "done_at": "status.date",
        },
        "dates": {"submitted_at": "iso", "done_at": "iso"},
        "states": {
            "ACCEPTED": intermediate("ACCEPTED"),
            "SCHEDULED": intermediate("SCHEDULED"),
            "SENT": intermediate("ENROUTE"),
            "DELIVERED": final("DELIVERED"),
            "FAILED": final("UNDELIVERABLE"),
        },
    },
    sample=(
        '[{"id": "312123871239124", "from": {"type": "INTERNATIONAL", "address": "+27000000000"},'
        ' "to": {"type": "INTERNATIONAL", "address": "+44000000000"}, "userSuppliedId": '
        '"abcd1234", "submission": {"id": "564568749793", "date": "2014-06-01T12:15:00Z"}, '
        '"status": {"condition": "DELIVERED", "date": "2014-06-01T13:12:00Z", '
        '"cause": "Received by handset", "final": true}}]'
    ),
    detect=(("[0].id", "[0].submission", "[0].status"), ("id", "submission", "status")),
)
