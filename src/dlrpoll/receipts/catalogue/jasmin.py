"""Jasmin SMS gateway delivery receipts (its DLR thrower).

Jasmin posts (or gets) the ``dlr-url`` given at submission with ``id`` (Jasmin's message
id), ``message_status``, ``level`` and ``connector``. Level 1 reports the SMSC's answer to
the submit: ``message_status`` is the SMPP command status, ``ESME_ROK`` (accepted, the
receipt is still to come) or an error such as ``ESME_RINVDSTADR``. Levels 2 and 3 carry the
SMSC's receipt: ``message_status`` DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN or
REJECTD, with ``id_smsc``, ``sub``, ``dlvrd``, ``subdate`` and ``donedate`` (``YYMMDDhhmm``),
``err`` and ``text``. Source: docs.jasminsms.com, HTTP API "Receiving DLR".
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="jasmin",
    title="Jasmin",
    docs="https://docs.jasminsms.com/en/latest/apis/http/index.html#receiving-dlr",
    reads="DLR thrower callbacks: id, message_status, level, err, subdate, donedate",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "id",
            "status": "message_status",
            "error_code": "err",
            "sub": "sub",
            "dlvrd": "dlvrd",
            "submitted_at": "subdate",
            "done_at": "donedate",
            "text": "text",
        },
        "dates": {"submitted_at": "smpp", "done_at": "smpp"},
        "states": {
            "ESME_ROK": intermediate("ACCEPTED"),
            "ESME_*": final("REJECTED"),
            "ENROUTE": intermediate("ENROUTE"),
            "DELIVRD": final("DELIVERED"),
            "EXPIRED": final("EXPIRED"),
            "DELETED": final("DELETED"),
            "UNDELIV": final("UNDELIVERABLE"),
            "ACCEPTD": final("ACCEPTED"),
            "UNKNOWN": final("UNKNOWN"),
            "REJECTD": final("REJECTED"),
        },
    },
    sample=(
        "id=2a0b6f3c-1d4e-4f5a-9b8c-7d6e5f4a3b2c&message_status=DELIVRD&level=3"
        "&connector=smsc-01&id_smsc=0A1B2C3D&sub=001&dlvrd=001&subdate=2411051230"
        "&donedate=2411051231&err=000&text=Hello"
    ),
    detect=(("id", "message_status", "level"),),
)
