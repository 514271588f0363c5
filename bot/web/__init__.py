"""The bot's web side: one HTTP server for the webhook, /healthz and signed media links."""
