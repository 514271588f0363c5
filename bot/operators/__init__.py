"""The operator chat: complaint posts, error reports and the desk buttons."""
