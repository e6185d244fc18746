"""CM.com status reports (XML or JSON webhook).

XML: ``<MESSAGES>`` holds one ``<MSG RECEIVED="…">`` per report, with ``TO`` (the number,
``00``-prefixed), ``REFERENCE`` (the reference given at submission: CM's reports identify
the message by it) and ``STATUS`` (``CODE``, ``ERRORCODE``, ``ERRORDESCRIPTION``). JSON has
the same under ``messages.msg`` in lower case. ``RECEIVED`` is when the report was
registered, ISO-8601 without a zone. Status codes: 0 accepted by the operator (on the way),
1 rejected, 2 delivered, 3 failed, 4 read (other channels). Source:
developers.cm.com/messaging/docs/incoming-status-report.
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="cm",
    title="CM.com",
    docs="https://developers.cm.com/messaging/docs/incoming-status-report",
    reads="status reports: MSG@RECEIVED, REFERENCE, TO, STATUS.CODE/ERRORCODE (XML or JSON)",
    spec={
        "format": "keyvalue",
        "items": ["MSG", "messages.msg"],
        "fields": {
            "message_id": "REFERENCE",
            "status": "STATUS.CODE",
            "error_code": "STATUS.ERRORCODE",
            "text": "STATUS.ERRORDESCRIPTION",
            "dst_addr": "TO",
            "done_at": "@RECEIVED",
        },
        "dates": {"done_at": "iso"},
        "states": {
            "0": intermediate("ACCEPTED"),
            "1": final("REJECTED"),
            "2": final("DELIVERED"),
            "3": final("UNDELIVERABLE"),
            "4": final("DELIVERED"),
        },
    },
    sample=(
        '<?xml version="1.0" encoding="utf-8"?><MESSAGES><MSG RECEIVED="2024-11-05T12:30:05">'
        "<TO>0031612345678</TO><REFERENCE>order-1234</REFERENCE><STATUS><CODE>2</CODE>"
        "<ERRORCODE></ERRORCODE><ERRORDESCRIPTION></ERRORDESCRIPTION></STATUS></MSG></MESSAGES>"
    ),
    detect=(("#root=MESSAGES", "MSG"), ("messages.msg.status.code",)),
)
