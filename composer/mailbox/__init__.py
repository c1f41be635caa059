"""The loop back from the mailbox: unsubscribe replies and bounces turned into suppressions."""
