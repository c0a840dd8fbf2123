"""Mail in: the intake (intake.py), the SMTP gateway and the IMAP poller (imap.py)."""
