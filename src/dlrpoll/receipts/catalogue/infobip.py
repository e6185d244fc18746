"""Infobip SMS delivery reports.

A JSON document with the reports in ``results[]``, one per message: ``messageId``, ``to``,
``sentAt`` and ``doneAt`` (``2019-11-09T16:00:00.000+0000``), ``callbackData`` (your
reference), and ``status`` and ``error`` as objects: ``status.groupName`` is one of PENDING,
UNDELIVERABLE, DELIVERED, EXPIRED, REJECTED and ``status.name`` the detailed status inside
that group (``PENDING_ENROUTE``, ``DELIVERED_TO_HANDSET``, ``REJECTED_NETWORK``, …), so the
table reads the detailed name by its group's prefix; ``error.id`` is the error code (0:
no error). ``DELIVERED_TO_OPERATOR`` is in Infobip's DELIVERED group, the last report
Infobip sends for the message. Sources: infobip.com/docs/api (receive outbound SMS message
report) and infobip.com/docs/essentials/response-status-and-error-codes.
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="infobip",
    title="Infobip",
    docs="https://www.infobip.com/docs/essentials/api-essentials/response-status-and-error-codes",
    reads="delivery reports in results[]: messageId, status.name/groupName, error.id, doneAt",
    spec={
        "format": "keyvalue",
        "items": "results",
        "fields": {
            "message_id": "messageId",
            "status": ["status.name", "status.groupName"],
            "error_code": "error.id",
            "text": "status.description",
            "dst_addr": "to",
            "client_ref": "callbackData",
            "submitted_at": "sentAt",
            "done_at": "doneAt",
        },
        "dates": {"submitted_at": "iso", "done_at": "iso"},
        "states": {
            "PENDING": intermediate("ENROUTE"),
            "PENDING_*": intermediate("ENROUTE"),
            "PENDING_ACCEPTED": intermediate("ACCEPTED"),
            "DELIVERED": final("DELIVERED"),
            "DELIVERED_*": final("DELIVERED"),
            "DELIVERED_TO_OPERATOR": final("DELIVERED"),
            "UNDELIVERABLE": final("UNDELIVERABLE"),
            "UNDELIVERABLE_*": final("UNDELIVERABLE"),
            "EXPIRED": final("EXPIRED"),
            "EXPIRED_*": final("EXPIRED"),
            "REJECTED": final("REJECTED"),
            "REJECTED_*": final("REJECTED"),
        },
    },
    sample=(
        '{"results": [{"bulkId": "BULK-ID-123-xyz", "messageId": "MESSAGE-ID-123-xyz", '
        '"to": "41793026727", "sentAt": "2019-11-09T16:00:00.000+0000", '
        '"doneAt": "2019-11-09T16:00:00.000+0000", "smsCount": 1, "callbackData": "DLR callback '
        'data", "status": {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": '
        '"DELIVERED_TO_HANDSET", "description": "Message delivered to handset"}, "error": '
        '{"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR", "description": '
        '"No Error", "permanent": false}}]}'
    ),
    detect=(("results[0].messageId", "results[0].status.groupName"),),
)
