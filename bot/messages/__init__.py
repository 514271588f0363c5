"""This package contains what the bot says: complaints put into words, cards, status lines,
evidence lines, keyboards and callback data; pure functions of domain values and the
catalogue, below the customer conversation, the operator chat and the workers alike."""
