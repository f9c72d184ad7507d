"""Alerts as JSON to a webhook (a Teams or Slack-style receiver, a hospital pager gateway),
signed per the Standard Webhooks specification (headers webhook-id, webhook-timestamp,
webhook-signature: HMAC-SHA256) with its reference library, so any receiver that implements the
specification can check the message came from us and was not replayed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import orjson
from standardwebhooks.webhooks import Webhook


class WebhookError(RuntimeError):
    """The receiver did not accept the message (the text says why)."""


def post_webhook(
    url: str, secret: str, message_id: str, payload: dict[str, Any], *, timeout: float = 10.0
) -> None:
    body = orjson.dumps(payload)
    now = dt.datetime.now(dt.UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
    }
    if secret:
        headers["webhook-signature"] = Webhook(secret).sign(message_id, now, body)
    try:
        # Never follow a redirect: the message goes to the configured address or nowhere.
        response = httpx.post(
            url, content=body, headers=headers, timeout=timeout, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise WebhookError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise WebhookError(f"HTTP {response.status_code} from the receiver")
