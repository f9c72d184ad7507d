"""Sign-in and sessions as an attacker would try them, on SQLite and PostgreSQL: parallel
guesses, forged X-Forwarded-For, locking the owner out, weak passwords, the second factor,
session rotation, idle timeout, sign out everywhere, cookies under `serve`."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pyotp
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import update

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.cli.web_cmds import uvicorn_options
from bonemets.faces.web.app import create_app
from bonemets.service import accounts
from tests.security.conftest import Clock, sign_in
from tests.web.conftest import PASSWORD

WRONG = "not the password at all"


def _actions(db: Database) -> Counter[str]:
    with db.transaction() as s:
        return Counter(e.action for e in repo.audit_events(s, limit=10_000))


# --- The throttle -------------------------------------------------------------------------------


def test_parallel_guesses_cannot_pass_the_limit(
    db: Database, settings: Settings, people: dict[str, str], clock: Clock
) -> None:
    """15 guesses at once from one client: the limit (5) is checked and charged in one locked
    step, so at most 5 passwords are checked; the others are told to wait."""
    start = threading.Barrier(15)
    outcomes: list[accounts.SignIn] = []

    def guess() -> None:
        start.wait()
        outcomes.append(
            accounts.sign_in(db, settings, username="nurse-a", password=WRONG, client="10.0.0.9")
        )

    threads = [threading.Thread(target=guess) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 15
    checked = [o for o in outcomes if o.retry_after is None]
    assert len(checked) <= settings.login_attempts
    assert not any(o.ok for o in outcomes)
    counted = _actions(db)
    assert counted["login_failed"] == len(checked) and counted["login_limited"] == 15 - len(checked)


def test_backoff_doubles_and_never_locks_out(
    db: Database, settings: Settings, people: dict[str, str], clock: Clock
) -> None:
    def attempt(password: str) -> accounts.SignIn:
        return accounts.sign_in(db, settings, username="nurse-a", password=password, client="c1")

    for _ in range(settings.login_attempts):
        assert attempt(WRONG).retry_after is None
    waits = []
    for _ in range(4):
        waits.append(attempt(WRONG).retry_after)  # refused: waiting out the delay
        clock.advance(waits[-1] or 0)
        assert attempt(WRONG).retry_after is None  # checked once the delay has passed
    assert waits == [1, 2, 4, 8]
    refused = attempt(PASSWORD)  # even the right one waits ...
    assert refused.retry_after == 16
    clock.advance(16)
    assert attempt(PASSWORD).ok  # ... and then works: a delay, not a lockout
    assert attempt(WRONG).retry_after is None  # and the account's counter starts again


def test_the_delay_is_capped(
    db: Database, settings: Settings, people: dict[str, str], clock: Clock
) -> None:
    capped = Settings(**{**vars(settings), "login_max_delay_minutes": 0.1})
    waits = []
    for _ in range(14):
        outcome = accounts.sign_in(db, capped, username="nurse-a", password=WRONG, client="c2")
        if outcome.retry_after is not None:
            waits.append(outcome.retry_after)
            clock.advance(outcome.retry_after)
    assert waits == [1, 2, 4, 6, 6]
    clock.advance(3600)  # an hour without a failure: forgotten
    for _ in range(settings.login_attempts):
        outcome = accounts.sign_in(db, capped, username="nurse-a", password=WRONG, client="c2")
        assert outcome.retry_after is None


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(
    client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    sign_in(client, "nurse-a")  # the owner's browser: it now carries a device cookie
    device = client.cookies.get("bm_device")
    assert device
    for i in range(60):  # many addresses, one account
        accounts.sign_in(db, settings, username="nurse-a", password=WRONG, client=f"10.1.0.{i}")
    stranger = accounts.sign_in(
        db, settings, username="nurse-a", password=PASSWORD, client="10.9.9.9"
    )
    assert stranger.retry_after is not None  # the account is slowed for unknown browsers
    owner = accounts.sign_in(
        db, settings, username="nurse-a", password=PASSWORD, client="testclient", device=device
    )
    assert owner.ok
    forged = device.split(".")[0] + ".0123456789abcdef0123456789abcdef"
    other = accounts.sign_in(
        db, settings, username="nurse-a", password=PASSWORD, client="10.9.9.8", device=forged
    )
    assert other.retry_after is not None  # a forged device cookie is an unknown browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(db: Database, settings: Settings, people: dict[str, str], clock: Clock) -> Iterator[
    dict[str, str]
]:  # fmt: skip
    """The app under uvicorn on loopback, twice: as `serve` runs it without a trusted proxy,
    and with 127.0.0.1 as the trusted proxy."""
    urls: dict[str, str] = {}
    servers = []
    for name, proxies in (("direct", ""), ("proxied", "127.0.0.1")):
        configured = Settings(**{**vars(settings), "trusted_proxies": proxies})
        port = _free_port()
        config = uvicorn.Config(
            create_app(configured, db), host="127.0.0.1", port=port, log_level="warning",
            **uvicorn_options(configured),  # type: ignore[arg-type]
        )  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        urls[name] = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not all(server.started for server, _ in servers):
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield urls
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def test_forwarded_for_counts_only_from_a_trusted_proxy(served: dict[str, str]) -> None:
    body = {"username": "nurse-b", "password": WRONG}
    with httpx.Client(base_url=served["direct"]) as direct:
        codes = [
            direct.post("/api/session", json=body, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            for i in range(8)
        ]
    assert [c.status_code for c in codes] == [401] * 5 + [429] * 3  # XFF ignored
    assert codes[5].headers["retry-after"] == "1"
    body = {"username": "nurse-a", "password": WRONG}
    with httpx.Client(base_url=served["proxied"]) as proxied:
        codes = [
            proxied.post("/api/session", json=body, headers={"X-Forwarded-For": f"198.51.100.{i}"})
            for i in range(8)
        ]
    assert [c.status_code for c in codes] == [401] * 8  # eight clients behind the proxy


def test_serve_trusts_no_proxy_unless_configured() -> None:
    assert uvicorn_options(Settings()) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    behind = Settings(trusted_proxies="10.0.0.0/8")
    assert uvicorn_options(behind) == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.0/8"}


# --- Passwords ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaa", "at least 12"),
        ("aaaaaaaaaaaa", "easy to guess"),
        ("password1234", "most common"),
        ("qwertyuiop12", "most common"),
        ("iloveyou2024", "easy to guess"),
        ("P@ssw0rd2024", "easy to guess"),
        ("Nurse-A is my login", "username"),
        ("x" * 129, "at most 128"),
    ],
)
def test_weak_and_common_passwords_are_refused(password: str, why: str) -> None:
    problem = accounts.password_problem(password, "nurse-a")
    assert problem is not None and why in problem


@pytest.mark.parametrize(
    "password", [PASSWORD, "bonemets-ward-demo", "mauve tugboat seventeen", "w" + "é" * 80 + "!"]
)
def test_good_passwords_are_accepted(password: str) -> None:
    assert accounts.password_problem(password, "nurse-a") is None


def test_a_new_password_ends_every_session(
    client: TestClient, db: Database, people: dict[str, str]
) -> None:
    sign_in(client, "nurse-a")
    with db.transaction() as s:
        user = repo.user_by_name(s, "nurse-a")
        assert user is not None
        with pytest.raises(accounts.AccountError):
            accounts.set_password(s, user, "password1234")
        assert accounts.set_password(s, user, "mauve tugboat seventeen") == 1
    assert client.get("/api/session").status_code == 401


# --- Second factor ------------------------------------------------------------------------------


def _enrol(client: TestClient, csrf: str) -> str:
    page = client.post("/account/totp/start", data={"csrf_token": csrf})
    assert page.status_code == 200 and "data:image/svg+xml" in page.text
    signed = page.text.split('name="signed" value="')[1].split('"')[0]
    secret = signed.split(".")[0]
    wrong = client.post(
        "/account/totp/confirm", data={"csrf_token": csrf, "signed": signed, "code": "000000"}
    )
    assert wrong.status_code == 422
    done = client.post(
        "/account/totp/confirm",
        data={"csrf_token": csrf, "signed": signed, "code": pyotp.TOTP(secret).now()},
        follow_redirects=False,
    )
    assert done.status_code == 303
    return secret


def _previous_code(secret: str) -> str:
    return pyotp.TOTP(secret).at(time.time() - 30)


def test_two_step_sign_in_with_real_codes(
    client: TestClient, db: Database, people: dict[str, str]
) -> None:
    csrf = sign_in(client, "nurse-a")
    secret = _enrol(client, csrf)
    assert "On. To turn it off" in client.get("/account").text
    client.cookies.clear()
    body = {"username": "nurse-a", "password": PASSWORD}
    assert client.post("/api/session", json=body).json() == {"detail": "code required"}
    wrong = client.post("/api/session", json={**body, "code": "123456"})
    assert wrong.status_code == 401
    code = _previous_code(secret)  # the one before now: the enrolment used the current one
    assert client.post("/api/session", json={**body, "code": code}).status_code == 401  # used
    client.cookies.clear()
    fresh = pyotp.TOTP(secret).at(time.time() + 30)  # the next step (clock drift allowed)
    assert client.post("/api/session", json={**body, "code": fresh}).status_code == 200
    client.cookies.clear()
    assert client.post("/api/session", json={**body, "code": fresh}).status_code == 401  # replay
    counted = _actions(db)
    assert counted["totp_enabled"] == 1 and counted["login_code_asked"] >= 1


def test_the_login_form_asks_for_the_code(
    client: TestClient, db: Database, people: dict[str, str]
) -> None:
    with db.transaction() as s:
        user = repo.user_by_name(s, "admin")
        assert user is not None
        secret = accounts.new_totp_secret()
        accounts.enable_totp(s, user, secret, _previous_code(secret))
    token = client.get("/login").cookies["bm_login_csrf"]
    step = client.post(
        "/login", data={"csrf_token": token, "username": "admin", "password": PASSWORD}
    )
    assert step.status_code == 200 and 'name="pending"' in step.text
    pending = step.text.split('name="pending" value="')[1].split('"')[0]
    token = step.cookies["bm_login_csrf"]
    done = client.post(
        "/login",
        data={"csrf_token": token, "pending": pending, "code": pyotp.TOTP(secret).now()},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/worklist"
    assert client.get("/admin/audit").status_code == 200


def test_patients_have_no_second_factor(client: TestClient) -> None:
    csrf = sign_in(client, "user-a")
    assert client.post("/account/totp/start", data={"csrf_token": csrf}).status_code == 403


# --- Sessions -----------------------------------------------------------------------------------


def test_sign_in_rotates_the_session(client: TestClient) -> None:
    sign_in(client, "nurse-a")
    before = client.cookies.get("bm_session")
    sign_in(client, "nurse-a")
    after = client.cookies.get("bm_session")
    assert before and after and before != after
    # Only the old cookie (setting it beside the jar's new one would send both).
    client.cookies.clear()
    client.cookies.set("bm_session", before)
    assert client.get("/api/session").status_code == 401  # the old one ended
    client.cookies.clear()
    client.cookies.set("bm_session", after)
    assert client.get("/api/session").status_code == 200


def test_sign_out_everywhere(db: Database, settings: Settings, people: dict[str, str]) -> None:
    app = create_app(settings, db)
    with TestClient(app) as phone, TestClient(app) as desk:
        sign_in(phone, "nurse-a")
        csrf = sign_in(desk, "nurse-a")
        assert phone.get("/api/session").status_code == 200
        gone = desk.delete("/api/session?everywhere=true", headers={"X-CSRF-Token": csrf})
        assert gone.status_code == 204
        assert phone.get("/api/session").status_code == 401
        assert desk.get("/api/session").status_code == 401
    assert _actions(db)["logout_all"] == 1


def test_at_most_max_sessions_per_user(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    app = create_app(settings, db)
    clients = [TestClient(app) for _ in range(settings.max_sessions + 1)]
    for c in clients:
        sign_in(c, "nurse-a")
    assert clients[0].get("/api/session").status_code == 401  # the oldest ended
    assert all(c.get("/api/session").status_code == 200 for c in clients[1:])


def test_an_idle_session_ends(client: TestClient, db: Database, settings: Settings) -> None:
    sign_in(client, "nurse-a")
    assert client.get("/api/worklist").status_code == 200
    idle = t.utcnow() - dt.timedelta(minutes=settings.idle_minutes + 1)
    with db.transaction() as s:
        s.execute(update(t.Session).values(last_seen_at=idle))
    assert client.get("/api/worklist").status_code == 401
    assert client.get("/worklist", follow_redirects=False).status_code == 303


def test_a_used_session_stays_alive(client: TestClient, db: Database, settings: Settings) -> None:
    sign_in(client, "nurse-a")
    recent = t.utcnow() - dt.timedelta(minutes=settings.idle_minutes - 1)
    with db.transaction() as s:
        s.execute(update(t.Session).values(last_seen_at=recent))
    assert client.get("/api/worklist").status_code == 200  # seen now: the clock restarts
    with db.transaction() as s:
        user = repo.user_by_name(s, "nurse-a")
        assert user is not None
        seen = repo.user_sessions(s, user.id)[0].last_seen_at
    assert seen is not None
    seen = seen if seen.tzinfo else seen.replace(tzinfo=dt.UTC)
    assert seen > recent + dt.timedelta(minutes=1)


def test_cookies_are_secure_and_hsts_is_sent_under_serve(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    served = Settings(**{**vars(settings), "secure_cookies": True})
    with TestClient(create_app(served, db), base_url="https://testserver") as client:
        form = client.get("/login")
        assert "max-age=31536000" in form.headers["strict-transport-security"]
        login_cookie = form.headers["set-cookie"].lower()
        assert "bm_login_csrf=" in login_cookie and "secure" in login_cookie
        answer = client.post("/api/session", json={"username": "nurse-a", "password": PASSWORD})
        cookies = answer.headers.get_list("set-cookie")
        assert len(cookies) == 2 and all("secure" in c.lower() for c in cookies)
        assert all("httponly" in c.lower() for c in cookies)
