"""Who calls and what they may do: tokens, rate limits, HTTP headers and personal data."""
