"""Textmagic delivery notification callbacks.

Posted to the callback URL: ``message_id``, ``timestamp`` (when the operator's notification
arrived, Unix seconds), ``status`` as one letter, and ``credits_cost``. The letters: q queued
at Textmagic, s scheduled, r sent to the operator, a acknowledged and b buffered by the
operator (all on the way); d delivered, f failed to deliver, e failed to send, j rejected
by the operator, u unknown (all final). Letters match in either case. Source:
textmagic.com HTTPS API "SMS delivery notification codes" and "Receiving delivery
notifications via callback URLs".
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="textmagic",
    title="Textmagic",
    docs="https://www.textmagic.com/docs/api/https/sms-delivery-notification-codes/",
    reads="delivery notifications: message_id, status (one letter), timestamp, credits_cost",
    spec={
        "format": "keyvalue",
        "fields": {"message_id": "message_id", "status": "status", "done_at": "timestamp"},
        "dates": {"done_at": "epoch"},
        "states": {
            "q": intermediate("ENROUTE"),
            "s": intermediate("SCHEDULED"),
            "r": intermediate("ENROUTE"),
            "a": intermediate("ACCEPTED"),
            "b": intermediate("ENROUTE"),
            "d": final("DELIVERED"),
            "f": final("UNDELIVERABLE"),
            "e": final("REJECTED"),
            "j": final("REJECTED"),
            "u": final("UNKNOWN"),
        },
    },
    sample="message_id=8714718&timestamp=1730809805&status=d&credits_cost=1",
    detect=(("message_id", "status", "credits_cost"),),
)
