"""Channels that carry alerts out of bonemets: e-mail over SMTP and signed webhooks."""

from bonemets.adapters.notify.email import EmailError, send_email
from bonemets.adapters.notify.webhook import WebhookError, post_webhook

__all__ = ["EmailError", "WebhookError", "post_webhook", "send_email"]
