"""The one HTTP server of the bot: the webhook and /healthz."""
