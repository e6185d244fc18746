"""dlrpoll: pull SMS delivery receipts from SOAP inboxes and POP3 or IMAP mailboxes."""

__version__ = "0.1.0"
