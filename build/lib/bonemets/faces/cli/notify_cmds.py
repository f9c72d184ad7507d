"""`bonemets notify run|test` and `bonemets team set|show`: the alert channels of a deployment."""

from __future__ import annotations

from typing import Annotated

import typer

from bonemets.faces.cli.common import console, fail


def register(app: typer.Typer) -> None:
    notify_app = typer.Typer(help="Alert notifications (e-mail, webhook).", no_args_is_help=True)
    team_app = typer.Typer(help="Care teams and where their alerts go.", no_args_is_help=True)
    app.add_typer(notify_app, name="notify")
    app.add_typer(team_app, name="team")

    @notify_app.command("run")
    def notify_run() -> None:
        """One sweep: escalate alerts left open, open missed-check-in tasks, send what waits.

        For cron when the app is not serving; `serve` sweeps every minute itself."""
        from bonemets.adapters.storage.repository import Database
        from bonemets.config import Settings
        from bonemets.service import notify

        settings = Settings.from_env()
        done = notify.sweep(Database(settings.database_url), settings)
        console.print(
            f"Escalated {done['escalated']}, missed check-ins {done['missed_check_ins']}, "
            f"sent {done['sent']}."
        )

    @notify_app.command("test")
    def notify_test(
        team: Annotated[str, typer.Argument(help="The care team whose channels to try.")],
    ) -> None:
        """Send a test message to every channel of a team, and say what each answered."""
        from bonemets.adapters.notify import EmailError, WebhookError, post_webhook, send_email
        from bonemets.adapters.storage import tables as t
        from bonemets.adapters.storage.repository import Database
        from bonemets.config import Settings
        from bonemets.service import notify

        settings = Settings.from_env()
        db = Database(settings.database_url)
        with db.transaction() as s:
            found = s.query(t.Team).filter(t.Team.name == team).one_or_none()
            if found is None:
                fail("team", f"no care team {team!r}")
            targets = notify.targets(settings, found, "alert")
            targets += [
                x for x in notify.targets(settings, found, "escalation") if x not in targets
            ]
        if not targets:
            fail("team", "no channel is configured (see README, 'Alerts and notifications')")
        for target in targets:
            try:
                if target.channel == "email":
                    send_email(
                        settings.smtp_url, settings.mail_from, target.address,
                        "[bonemets] test message", "A test of the alert channel. No action.",
                    )  # fmt: skip
                else:
                    post_webhook(
                        target.address, settings.webhook_secret, "bonemets-test",
                        {"type": "test", "text": "A test of the alert channel. No action."},
                    )  # fmt: skip
                console.print(f"[green]sent[/] {target.channel} {target.address}")
            except (EmailError, WebhookError) as exc:
                console.print(f"[red]failed[/] {target.channel} {target.address}: {exc}")

    @team_app.command("set")
    def team_set(
        name: Annotated[str, typer.Argument(help="Care team (created if new).")],
        alert_email: Annotated[str | None, typer.Option(help="Where its alerts go.")] = None,
        escalation_email: Annotated[
            str | None, typer.Option(help="Where alerts left open go.")
        ] = None,
        webhook_url: Annotated[str | None, typer.Option(help="Its alert webhook.")] = None,
    ) -> None:
        """Set where a team's alerts go (overrides the deployment's addresses; '' clears)."""
        from bonemets.adapters.storage import repository as repo
        from bonemets.adapters.storage.repository import Database
        from bonemets.config import Settings

        for field, value in (("alert-email", alert_email), ("escalation-email", escalation_email)):
            if value and ("@" not in value or any(c.isspace() for c in value)):
                fail(field, f"{value!r} is not an e-mail address")
        if webhook_url and not webhook_url.startswith(("https://", "http://")):
            fail("webhook-url", "expected an http(s) URL")
        settings = Settings.from_env()
        with Database(settings.database_url).transaction() as s:
            team = repo.get_or_create_team(s, name)
            if alert_email is not None:
                team.alert_email = alert_email or None
            if escalation_email is not None:
                team.escalation_email = escalation_email or None
            if webhook_url is not None:
                team.webhook_url = webhook_url or None
            console.print(
                f"{team.name}: alerts to {team.alert_email or settings.alert_email or '-'}, "
                f"escalations to {team.escalation_email or settings.escalation_email or '-'}, "
                f"webhook {team.webhook_url or settings.webhook_url or '-'}"
            )
