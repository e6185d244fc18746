"""Sinch SMS REST API recipient delivery reports.

A recipient report (``type`` ``recipient_delivery_report_sms``) is about one recipient of a
batch: ``batch_id`` (the id the send call returned), ``recipient``, ``status``, ``code``
(Sinch's status code), ``at`` (ISO-8601, UTC) and ``client_reference``. Listed, as the
delivery report list returns them, the reports sit in ``delivery_reports[]``; each becomes a
receipt. Queued and Dispatched are intermediate; Aborted, Cancelled, Rejected, Deleted,
Delivered, Failed, Expired and Unknown are final. A batch's receipts share its ``batch_id``:
join on it together with ``dst_addr``. Source:
developers.sinch.com/docs/sms/api-reference/sms/tag/Delivery-reports.
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="sinch",
    title="Sinch",
    docs="https://developers.sinch.com/docs/sms/api-reference/sms/tag/Delivery-reports/",
    reads="recipient delivery reports (single, or listed in delivery_reports[]): batch_id, "
    "recipient, status, code, at",
    spec={
        "format": "keyvalue",
        "items": "delivery_reports",
        "fields": {
            "message_id": "batch_id",
            "status": "status",
            "error_code": "code",
            "dst_addr": "recipient",
            "client_ref": "client_reference",
            "done_at": "at",
        },
        "dates": {"done_at": "iso"},
        "states": {
            "Queued": intermediate("ENROUTE"),
            "Dispatched": intermediate("ENROUTE"),
            "Aborted": final("REJECTED"),
            "Cancelled": final("DELETED"),
            "Rejected": final("REJECTED"),
            "Deleted": final("DELETED"),
            "Delivered": final("DELIVERED"),
            "Failed": final("UNDELIVERABLE"),
            "Expired": final("EXPIRED"),
            "Unknown": final("UNKNOWN"),
        },
    },
    sample=(
        '{"type": "recipient_delivery_report_sms", "batch_id": "01FC66621XXXXX119Z8PMV1QPQ", '
        '"recipient": "15551231234", "code": 0, "status": "Delivered", '
        '"at": "2022-08-30T08:16:08.930Z", "client_reference": "myReference"}'
    ),
    detect=(
        ("type=recipient_delivery_report_sms", "batch_id"),
        ("delivery_reports[0].type=recipient_delivery_report_sms", "delivery_reports[0].batch_id"),
    ),
)
