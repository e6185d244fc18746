"""ClickSend SMS delivery receipts.

Posted to the delivery receipt URL (and listed by ``GET /v3/sms/receipts``): ``message_id``,
``status_code`` and ``status_text``, ``error_code`` and ``error_text``, ``custom_string``
(your reference), ``timestamp_send`` and ``timestamp`` (Unix seconds). The receipt has no
status word: its code says it all. 200 means with the network or queued, 201 received on the
handset, 300 a temporary failure ClickSend retries by itself, 301 failed or cancelled.
Sources: developers.clicksend.com (SMS delivery receipts) and help.clicksend.com "List of
SMS gateway error codes".
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="clicksend",
    title="ClickSend",
    docs="https://help.clicksend.com/article/8cc479qlbb-list-of-sms-gateway-error-codes",
    reads="delivery receipts: message_id, status_code, status_text, error_code, timestamps",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "message_id",
            "status": "status_code",
            "error_code": "error_code",
            "text": ["error_text", "status_text"],
            "client_ref": "custom_string",
            "submitted_at": "timestamp_send",
            "done_at": "timestamp",
        },
        "dates": {"submitted_at": "epoch", "done_at": "epoch"},
        "states": {
            "200": intermediate("ENROUTE"),
            "201": final("DELIVERED"),
            "300": intermediate("ENROUTE"),
            "301": final("UNDELIVERABLE"),
        },
    },
    sample=(
        "timestamp_send=1722565411&timestamp=1722565414"
        "&message_id=2336751A-BBBE-4887-9D7C-CB7558F00208&status_code=201"
        "&status_text=Success%3A+Message+received+on+handset.&error_code=&error_text="
        "&custom_string=order-1234&subaccount_id=563840&message_type=sms"
    ),
    detect=(("message_id", "status_code", "status_text"),),
)
