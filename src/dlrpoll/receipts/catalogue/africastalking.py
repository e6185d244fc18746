"""Africa's Talking SMS delivery reports.

A form POST to the delivery report callback URL with ``id`` (the messageId the send call
returned), ``status``, ``phoneNumber``, ``networkCode``, ``retryCount`` and, for Rejected and
Failed only, ``failureReason`` (InsufficientCredit, UserInBlackList, DeliveryFailure, …).
Sent, Submitted and Buffered are on the way; Rejected, Success and Failed are final. The
report carries no date. Sources: developers.africastalking.com/docs/sms/notifications and
docs.africastalking.com/sms/deliveryreports.
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="africastalking",
    title="Africa's Talking",
    docs="https://developers.africastalking.com/docs/sms/notifications",
    reads="delivery report callbacks: id, status, phoneNumber, networkCode, failureReason",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "id",
            "status": "status",
            "error_code": "failureReason",
            "dst_addr": "phoneNumber",
        },
        "states": {
            "Sent": intermediate("ENROUTE"),
            "Submitted": intermediate("ENROUTE"),
            "Buffered": intermediate("ENROUTE"),
            "Rejected": final("REJECTED"),
            "Success": final("DELIVERED"),
            "Failed": final("UNDELIVERABLE"),
        },
    },
    sample=(
        "id=ATXid_8f3e2b1c6a5d4e7f9a0b1c2d3e4f5a6b&status=Success&phoneNumber=%2B254711000111"
        "&networkCode=63902&retryCount=0"
    ),
    detect=(("id", "status", "phoneNumber"),),
)
