"""The union's reporting mailbox as a source (issue 17; docs/mailbox.md).

`intake` pulls new messages over IMAP (Airflow's ImapHook) and lands each report attachment in
the landing zone under mailbox/<message key>/, recording the message it came from in `store`;
ingest then takes the files over as it does any landing file, and `senders` refuses a file whose
sender is not registered for the unit it claims. `replies` answers each file once, in the
message's thread, through Airflow's SmtpHook, from an outbox with an idempotency key.
"""
