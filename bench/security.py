"""What the security measures cost, as ratios to a baseline in the same process and run.

    .venv/bin/python bench/security.py [--n 300] [--postgres ADMIN_URL]

- An audited transaction (one audit row, chained: the head row locked, the hash computed, the
  head moved on) against the same transaction writing the row unchained (a plain INSERT, as
  before the chain): the chain's cost on every request that writes an audit row.
- A sign-in through the throttle (`accounts.sign_in`: the counters locked and charged, the
  password checked, the session started and the charge refunded) against argon2's verification
  of the same password alone.
- `bounds.check_entry` of a typical lab entry against validating the entry with its model.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core import bounds
from bonemets.core.record import Lab
from bonemets.service import accounts

PASSWORD = "correct horse battery"


def _median_ms(work: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def run(url: str, n: int) -> dict[str, float]:
    db = Database(url)
    settings = Settings(database_url=url, secret_key="bench")
    with db.transaction() as s:
        accounts.create_user(s, username="bench", password=PASSWORD, role="admin")
        user = repo.user_by_name(s, "bench")
        assert user is not None
        password_hash = user.password_hash

    def chained() -> None:
        with db.transaction() as s:
            repo.audit(s, user=None, action="read", what="bench")

    row = {"at": t.utcnow(), "action": "read", "what": "bench", "allowed": True}

    def unchained() -> None:
        with db.transaction() as s:
            s.connection().execute(insert(t.AuditEvent), [row])

    def signed_in() -> None:
        outcome = accounts.sign_in(
            db, settings, username="bench", password=PASSWORD, client="127.0.0.1"
        )
        assert outcome.ok

    def argon2_alone() -> None:
        accounts._hasher.verify(password_hash, PASSWORD)

    lab = {"code": "creatinine", "value": 1.1, "unit": "mg/dL", "date": "2026-11-20"}
    model = Lab.model_validate(lab)
    today = Settings().today()
    out = {
        "audit_chained_ms": _median_ms(chained, n),
        "audit_unchained_ms": _median_ms(unchained, n),
        "sign_in_ms": _median_ms(signed_in, max(10, n // 20)),
        "argon2_verify_ms": _median_ms(argon2_alone, max(10, n // 20)),
        "check_entry_us": _median_ms(lambda: bounds.check_entry("lab", model, today), n) * 1000,
        "validate_lab_us": _median_ms(lambda: Lab.model_validate(lab), n) * 1000,
    }
    db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also on this PostgreSQL")
    args = parser.parse_args()
    targets = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")]
    admin = None
    if args.postgres:
        name = f"bonemets_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        pg = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        targets.append(("postgresql", pg))
    try:
        for label, url in targets:
            r = run(url, args.n)
            print(
                f"{label}: audit row chained {r['audit_chained_ms']:.2f} ms vs unchained "
                f"{r['audit_unchained_ms']:.2f} ms "
                f"({r['audit_chained_ms'] / r['audit_unchained_ms']:.2f}x); sign-in "
                f"{r['sign_in_ms']:.1f} ms vs argon2 alone {r['argon2_verify_ms']:.1f} ms "
                f"({r['sign_in_ms'] / r['argon2_verify_ms']:.2f}x); check_entry "
                f"{r['check_entry_us']:.1f} us vs validating the lab {r['validate_lab_us']:.1f} us "
                f"({r['check_entry_us'] / r['validate_lab_us']:.2f}x)"
            )
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
