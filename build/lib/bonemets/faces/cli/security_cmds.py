"""`bonemets audit list|verify` and the account commands an administrator needs:
`bonemets user password|totp|sign-out`."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated, Any

import typer

from bonemets.faces.cli.common import console, fail, print_json


def _database() -> Any:
    from bonemets.adapters.storage.repository import Database
    from bonemets.config import Settings

    return Database(Settings.from_env().database_url)


def _moment(value: str | None, field: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(field, "expected a date or date-time, e.g. 2026-12-01 or 2026-12-01T09:30")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def register(app: typer.Typer, user_app: typer.Typer) -> None:
    audit_app = typer.Typer(help="Read and check the audit log.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("list")
    def audit_list(
        user: Annotated[str | None, typer.Option(help="Only this username.")] = None,
        action: Annotated[
            str | None, typer.Option(help="Only this action (login_failed, denied, ...).")
        ] = None,
        patient: Annotated[str | None, typer.Option(help="Only this record id.")] = None,
        refused: Annotated[bool, typer.Option("--refused", help="Only refusals.")] = False,
        since: Annotated[str | None, typer.Option(help="From this time (UTC).")] = None,
        until: Annotated[str | None, typer.Option(help="Before this time (UTC).")] = None,
        limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object a row.")] = False,
    ) -> None:
        """The newest audit rows, filtered (the read is itself audited)."""
        from bonemets.adapters.storage import repository as repo
        from bonemets.adapters.storage.repository import AuditFilter

        where = AuditFilter(
            username=user.lower() if user else None,
            action=action,
            patient_id=patient,
            allowed=False if refused else None,
            since=_moment(since, "since"),
            until=_moment(until, "until"),
            limit=limit,
        )
        db = _database()
        with db.transaction() as s:
            rows = repo.audit_events(s, where=where)
            repo.audit(s, user=None, action="read", what=f"read audit log from the CLI ({limit})")
        db.dispose()
        if as_json:
            print_json([_row(e) for e in rows])
            return
        for e in rows:
            mark = "" if e.allowed else " [refused]"
            console.print(
                f"{e.seq or '-':>7} {e.at:%Y-%m-%d %H:%M:%S} {e.username or '-':<16} "
                f"{e.action}{mark} {e.patient_id or ''} {e.what} {e.client or ''}",
                highlight=False,
                markup=False,
            )

    @audit_app.command("verify")
    def audit_verify() -> None:
        """Recompute the audit log's hash chain; exit 1 if a row was changed or deleted.
        Keep the head hash it prints somewhere else: rows rewritten from the start with a
        new chain are only caught against a head recorded before."""
        from bonemets.service import audit

        db = _database()
        report = audit.verify(db)
        db.dispose()
        if report.ok:
            console.print(
                f"Audit chain intact: {report.rows} rows, head {report.head_seq} "
                f"{report.head_hash}",
                highlight=False,
            )
            return
        for seq, what in report.problems:
            console.print(f"[red]row {seq if seq is not None else '-'}: {what}[/]")
        console.print(f"[bold red]Audit chain broken[/] ({report.rows} rows read).")
        raise typer.Exit(1)

    @user_app.command("password")
    def user_password(
        username: Annotated[str, typer.Argument(help="Login name.")],
        password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
    ) -> None:
        """Set a new password (checked against common breached passwords); every session of
        the user ends."""
        from bonemets.adapters.storage import repository as repo
        from bonemets.service import accounts

        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
        db = _database()
        try:
            with db.transaction() as s:
                user = repo.user_by_name(s, username)
                if user is None:
                    fail("username", f"no user {username!r}")
                ended = accounts.set_password(s, user, password)
        except accounts.AccountError as exc:
            fail(exc.field, exc.message)
        finally:
            db.dispose()
        console.print(f"Password changed; {ended} session(s) ended.")

    @user_app.command("sign-out")
    def user_sign_out(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
        """End every session of a user (e.g. a lost phone)."""
        from bonemets.adapters.storage import repository as repo
        from bonemets.service import accounts

        db = _database()
        with db.transaction() as s:
            user = repo.user_by_name(s, username)
            if user is None:
                fail("username", f"no user {username!r}")
            ended = accounts.end_all_sessions(s, user)
        db.dispose()
        console.print(f"{ended} session(s) ended.")

    @user_app.command("totp")
    def user_totp(
        username: Annotated[str, typer.Argument(help="Login name (clinician or admin).")],
        disable: Annotated[bool, typer.Option("--disable", help="Turn it off.")] = False,
        code_stdin: Annotated[
            bool, typer.Option(help="Read the confirming code from stdin.")
        ] = False,
    ) -> None:
        """Set up two-step sign-in: shows a key (and its QR code) for an authenticator app,
        then asks for a code from the app to turn it on."""
        from bonemets.adapters.storage import repository as repo
        from bonemets.service import accounts

        db = _database()
        try:
            with db.transaction() as s:
                user = repo.user_by_name(s, username)
                if user is None:
                    fail("username", f"no user {username!r}")
                if disable:
                    accounts.disable_totp(s, user)
                    console.print(f"Two-step sign-in is off for {user.username!r}.")
                    return
                if user.role not in accounts.TOTP_ROLES:
                    fail("role", "a second factor is for clinicians and admins")
                secret = accounts.new_totp_secret()
                uri = accounts.totp_uri(secret, user.username)
                console.print(f"Key: [bold]{secret}[/]\n{uri}", highlight=False)
                if not code_stdin and sys.stdout.isatty():
                    import segno

                    segno.make(uri, error="m").terminal(compact=True)
                code = (
                    sys.stdin.readline().strip()
                    if code_stdin
                    else typer.prompt("Code from the app")
                )
                accounts.enable_totp(s, user, secret, code)
        except accounts.AccountError as exc:
            fail(exc.field, exc.message)
        finally:
            db.dispose()
        console.print(f"Two-step sign-in is on for {username!r}.")


def _row(e: Any) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "username": e.username,
        "action": e.action,
        "patient_id": e.patient_id,
        "what": e.what,
        "allowed": e.allowed,
        "client": e.client,
        "hash": e.hash,
    }
