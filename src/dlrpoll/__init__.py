"""dlrpoll: pull SMS delivery receipts over SOAP or POP3 into an SQLite file."""

__version__ = "0.1.0"
