"""Editions → messages → transport: personal values, tokens, the journal, SMTP and the outbox."""
