"""SMSGlobal delivery receipts posted back to a URL.

Four parameters: ``msgid`` (SMSGlobal's message id), ``dlrstatus`` (the SMSC's word:
DELIVRD, EXPIRED, UNDELIV as documented, and the other SMPP words an SMSC may pass on),
``dlr_err`` (error code) and ``donedate`` (``yymmddhhmm``). Sources:
knowledgebase.smsglobal.com "Delivery receipts to postback URL" and smsglobal.com/delivery-receipts.
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="smsglobal",
    title="SMSGlobal",
    docs="https://knowledgebase.smsglobal.com/en/articles/5185738-delivery-receipts-to-postback-url",
    reads="postback receipts: msgid, dlrstatus, dlr_err, donedate (yymmddhhmm)",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "msgid",
            "status": "dlrstatus",
            "error_code": "dlr_err",
            "done_at": "donedate",
        },
        "dates": {"done_at": "smpp"},
        "states": {
            "ENROUTE": intermediate("ENROUTE"),
            "ACCEPTD": intermediate("ACCEPTED"),
            "DELIVRD": final("DELIVERED"),
            "EXPIRED": final("EXPIRED"),
            "UNDELIV": final("UNDELIVERABLE"),
            "REJECTD": final("REJECTED"),
            "DELETED": final("DELETED"),
            "UNKNOWN": final("UNKNOWN"),
        },
    },
    sample="msgid=6405973165004424&dlrstatus=DELIVRD&dlr_err=0&donedate=2106291430",
    detect=(("msgid", "dlrstatus"),),
)
