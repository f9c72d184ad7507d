"""`bonemets demo`, `bonemets serve`, `bonemets user add`, `bonemets db upgrade`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import track

from bonemets.faces.cli import security_cmds
from bonemets.faces.cli.common import console, existing_database_url, fail, sqlite_path

DEMO_CLINICIAN = ("nurse", "bonemets-ward-demo")  # not containing the username
DEMO_PATIENT = ("patient", "bonemets-home-demo")
DEMO_TEAM = "Breast oncology team"


def build_demo(url: str, *, patients: int, seed: int, today: dt.date) -> str:
    """Create the demo database: a care team, a synthetic cohort, two logins. Returns the id of
    the patient the demo patient login belongs to."""
    from bonemets.adapters.storage import repository as repo
    from bonemets.adapters.storage.repository import Database
    from bonemets.config import Settings
    from bonemets.core.pathway import assess
    from bonemets.demo.cohort import make_cohort
    from bonemets.service import accounts, filing

    db = Database(url)
    settings = Settings(database_url=url, fixed_today=today)
    cohort = make_cohort(patients, seed=seed, as_of=today)
    with db.transaction() as s:
        team = repo.get_or_create_team(s, DEMO_TEAM)
        for person in track(cohort, description="Creating demo patients", console=console):
            patient = repo.create_patient(
                s,
                person.record,
                team_id=team.id,
                display_name=person.display_name,
                mrn=person.mrn,
                origin="demo",
            )
            filing.settle(s, settings, patient, person.record, today=today)
        # The demo patient login belongs to a patient with no open red flag, so a new report
        # shows the whole flow from calm to alert.
        calm = next((p for p in cohort if assess(p.record, today).level.rank <= 1), cohort[-1])
        accounts.create_user(
            s,
            username=DEMO_CLINICIAN[0],
            password=DEMO_CLINICIAN[1],
            role="clinician",
            display_name="Demo Nurse",
            team=DEMO_TEAM,
        )
        accounts.create_user(
            s,
            username=DEMO_PATIENT[0],
            password=DEMO_PATIENT[1],
            role="patient",
            display_name=calm.display_name,
            patient_id=calm.record.id,
        )
    db.dispose()
    return calm.record.id


def _real_patients(url: str) -> int:
    """How many patients of an existing database the demo did not create (the demo's have
    synthetic MRNs DEMO-0001 onwards)."""
    from sqlalchemy import create_engine, func, inspect, select

    from bonemets.adapters.storage import tables as t

    engine = create_engine(url)
    try:
        if not inspect(engine).has_table(t.Patient.__tablename__):
            return 0
        with engine.connect() as conn:
            query = select(func.count()).select_from(t.Patient)
            query = query.where(t.Patient.mrn.is_(None) | t.Patient.mrn.not_like("DEMO-%"))
            return int(conn.scalar(query) or 0)
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
    app.add_typer(user_app, name="user")
    app.add_typer(db_app, name="db")
    security_cmds.register(app, user_app)

    @app.command()
    def demo(
        port: Annotated[int, typer.Option(help="Port to serve on (loopback only).")] = 8000,
        patients: Annotated[int, typer.Option(min=1, max=5000, help="Cohort size.")] = 50,
        seed: Annotated[int, typer.Option(help="Random seed of the cohort.")] = 7,
        data_dir: Annotated[
            Path | None,
            typer.Option(
                help="Data folder (default BONEMETS_DATA_DIR or ./data): the demo becomes its "
                "database, the one serve, careplan, calendar and import use."
            ),
        ] = None,
        no_serve: Annotated[bool, typer.Option("--no-serve", help="Build only.")] = False,
        replace: Annotated[
            bool,
            typer.Option(
                "--replace", help="Replace a database holding patients that are not the demo's."
            ),
        ] = False,
    ) -> None:
        """Build the demo into the default database (SQLite in the data folder): a synthetic
        cohort, a clinician and a patient login; then serve the app."""
        from bonemets.config import Settings, default_data_dir

        settings = Settings.from_env(data_dir=(data_dir or default_data_dir()).resolve())
        url = settings.database_url
        path = sqlite_path(url)
        if path is None:
            fail(
                "BONEMETS_DATABASE_URL",
                "the demo builds a SQLite database in the data folder only; unset "
                "BONEMETS_DATABASE_URL (or point it at a sqlite:/// file) to build it",
            )
        if path.exists() and not replace:
            kept = _real_patients(url)
            if kept:
                fail(
                    "database",
                    f"{path} holds {kept} patient(s) that are not demo patients; the demo "
                    "replaces the whole database: pass --replace if that is what you want, or "
                    "another --data-dir",
                )
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        today = dt.date.today()
        build_demo(url, patients=patients, seed=seed, today=today)
        console.print(f"Demo database: {path}", highlight=False)
        if settings.data_dir == default_data_dir():
            console.print("serve, careplan, calendar and import now work on its patients.")
        else:
            console.print(f"Other commands use it with BONEMETS_DATA_DIR={settings.data_dir}")
        console.print("Patients: DEMO-0001 to " + f"DEMO-{patients:04d}", highlight=False)
        console.print(
            f"Clinician login: [bold]{DEMO_CLINICIAN[0]}[/] / [bold]{DEMO_CLINICIAN[1]}[/]"
        )
        console.print(f"Patient login:   [bold]{DEMO_PATIENT[0]}[/] / [bold]{DEMO_PATIENT[1]}[/]")
        console.print(
            "[dim]Synthetic data only. "
            "bonemets supports, and does not replace, clinical judgement.[/]"
        )
        if no_serve:
            return
        # Plain http on loopback: cookies cannot be marked Secure here.
        settings = Settings.from_env(
            database_url=url, secure_cookies=False, public_url=f"http://127.0.0.1:{port}"
        )
        _serve(settings, "127.0.0.1", port)

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port.")] = 8000,
    ) -> None:
        """Serve the app on an existing database (BONEMETS_DATABASE_URL or the data folder)."""
        from bonemets.config import Settings

        existing_database_url()
        _serve(Settings.from_env(), host, port)

    @user_app.command("add")
    def user_add(
        username: Annotated[str, typer.Argument(help="Login name.")],
        role: Annotated[str, typer.Option(help="patient, carer, clinician or admin.")],
        team: Annotated[str | None, typer.Option(help="Care team (clinicians).")] = None,
        patient: Annotated[
            str | None,
            typer.Option(
                "--patient", "--for", help="Record id (a patient's own, or a carer's patient)."
            ),
        ] = None,
        display_name: Annotated[str | None, typer.Option(help="Name shown in the app.")] = None,
        password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
    ) -> None:
        """Add a user. The password is asked for on the terminal, or read from the first line of
        stdin with --password-stdin; never taken from the command line."""
        from bonemets.adapters.storage.repository import Database, NotFound
        from bonemets.config import Settings
        from bonemets.service import accounts

        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        elif not sys.stdin.isatty():
            # No terminal to ask on (a pipe, a script): the prompt would echo the password or
            # read a line meant for something else.
            fail("password", "no terminal to ask for it on: pipe it in with --password-stdin")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        settings = Settings.from_env()
        db = Database(settings.database_url)
        try:
            with db.transaction() as s:
                user = accounts.create_user(
                    s,
                    username=username,
                    password=password,
                    role=role,
                    team=team,
                    patient_id=patient,
                    display_name=display_name,
                )
                console.print(f"Added {user.role} {user.username!r}.")
        except accounts.AccountError as exc:
            fail(exc.field, exc.message)
        except NotFound:
            fail("patient", f"no patient record {patient!r}")

    @user_app.command("link-ehr")
    def user_link_ehr(
        username: Annotated[str, typer.Argument(help="The bonemets care-team account.")],
        issuer: Annotated[str, typer.Option(help="The issuer (iss) of the EHR's or IdP's tokens.")],
        subject: Annotated[
            str,
            typer.Option(help="The EHR user: its fhirUser (e.g. Practitioner/123), else sub."),
        ],
    ) -> None:
        """Link an EHR user to a bonemets account (SMART launches and /fhir bearer tokens)."""
        from bonemets.adapters.storage.repository import Database
        from bonemets.config import Settings
        from bonemets.service import accounts, ehr

        db = Database(Settings.from_env().database_url)
        try:
            ehr.link_identity(db, username, issuer, subject)
        except accounts.AccountError as exc:
            fail(exc.field, exc.message)
        console.print(f"{subject} of {issuer} is now bonemets user {username!r}.")

    @db_app.command("upgrade")
    def db_upgrade() -> None:
        """Create or migrate the schema of the configured database."""
        from bonemets.adapters.storage.repository import Database
        from bonemets.config import Settings

        settings = Settings.from_env()
        Database(settings.database_url).dispose()
        console.print(f"Schema is up to date: {settings.database_url.split('@')[-1]}")


def uvicorn_options(settings: object) -> dict[str, object]:
    """How uvicorn is to treat proxy headers: X-Forwarded-For and -Proto are believed only
    from the configured trusted proxies (uvicorn's own default trusts loopback, so anything
    on the same machine could name any client address and dodge the login throttle)."""
    from bonemets.config import Settings

    assert isinstance(settings, Settings)
    if not settings.trusted_proxies:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.trusted_proxies}


def _serve(settings: object, host: str, port: int) -> None:
    import uvicorn

    from bonemets.config import Settings
    from bonemets.faces.web.app import create_app

    assert isinstance(settings, Settings)
    app = create_app(settings)
    console.print(f"Serving on [bold]http://{host}:{port}/[/]  (Ctrl+C to stop)")
    console.print(
        f"[dim]Public address {settings.public_url}; Host accepted: "
        f"{', '.join(settings.allowed_hosts)} (BONEMETS_PUBLIC_URL, BONEMETS_ALLOWED_HOSTS)[/]",
        highlight=False,
    )
    uvicorn.run(
        app, host=host, port=port, log_level="warning", server_header=False,
        **uvicorn_options(settings),  # type: ignore[arg-type]
    )  # fmt: skip
