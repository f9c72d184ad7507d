"""E-mail over SMTP with the standard library's smtplib and email packages (maintained with
Python itself; nothing to add). The server is one URL: smtp://user:password@host:587 uses STARTTLS
when the server offers it, smtps:// is TLS from the start, and a password is never sent over a
connection that is not encrypted (except to a server on this machine)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class EmailError(RuntimeError):
    """The message could not be handed to the SMTP server (the text says why)."""


def send_email(
    smtp_url: str, sender: str, to: str, subject: str, body: str, *, timeout: float = 15.0
) -> None:
    url = urlsplit(smtp_url)
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise EmailError(
            f"SMTP URL must be smtp://host[:port] or smtps://host[:port], not {url.scheme!r}"
        )
    host = url.hostname
    port = url.port or (465 if url.scheme == "smtps" else 25)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    context = ssl.create_default_context()
    try:
        if url.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            encrypted = True
        else:
            server = smtplib.SMTP(host, port, timeout=timeout)
            server.ehlo()
            encrypted = server.has_extn("starttls")
            if encrypted:
                server.starttls(context=context)
                server.ehlo()
        with server:
            if url.username:
                if not encrypted and host not in LOOPBACK:
                    raise EmailError(
                        f"{host} offers no encryption: the password is not sent in clear "
                        "(use smtps:// or a server with STARTTLS)"
                    )
                server.login(unquote(url.username), unquote(url.password or ""))
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise EmailError(f"{type(exc).__name__}: {exc}") from exc
