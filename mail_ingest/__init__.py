"""Claims by mail: SMTP inbound, IMAP poller, outbound mail (not built yet: issue 5)."""
