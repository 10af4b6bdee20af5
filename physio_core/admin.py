"""Administration from the command line (no default password anywhere):

    PHYSIO_ADMIN_PASSWORD=... python -m physio_core.admin create-admin --email admin@clinic.org
    python -m physio_core.admin create-admin --email admin@clinic.org      # prompts twice
    python -m physio_core.admin list-users
    python -m physio_core.admin set-password --email someone@clinic.org

The database is the app's (DATABASE_URL, else the SQLite file under data/), migrated first.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from physio_core.auth import AuthError, create_admin
from physio_core.store import StorageUnavailable, get_user_by_email, init_db, list_users, set_password
from physio_core.store.access import check_password_strength

PASSWORD_ENV = "PHYSIO_ADMIN_PASSWORD"


def _password(prompt_for: str) -> str:
    """From PHYSIO_ADMIN_PASSWORD, else typed twice at a terminal; never a default."""
    pw = os.environ.get(PASSWORD_ENV)
    if pw:
        return pw
    if not sys.stdin.isatty():
        raise SystemExit(f"error: set {PASSWORD_ENV} or run this at a terminal to type the password")
    first = getpass.getpass(f"Password for {prompt_for}: ")
    if first != getpass.getpass("Repeat the password: "):
        raise SystemExit("error: the two passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m physio_core.admin", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL or the SQLite file under data/")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("create-admin", help="create an administrator account")
    p.add_argument("--email", required=True)
    p.add_argument("--name", default="Administrator")
    sub.add_parser("list-users", help="list every account")
    p = sub.add_parser("set-password", help="set the password of an account")
    p.add_argument("--email", required=True)
    args = parser.parse_args(argv)

    try:
        engine = init_db(args.database_url)
        if args.cmd == "create-admin":
            user = create_admin(engine, args.email, _password(args.email), args.name)
            print(f"created admin #{user.id} {user.email}")
        elif args.cmd == "list-users":
            for u in list_users(engine, include_inactive=True):
                state = "" if u.is_active else " (inactive)"
                print(f"#{u.id}\t{u.role.value}\t{u.email or '-'}\t{u.display_name}{state}")
        elif args.cmd == "set-password":
            user = get_user_by_email(engine, args.email)
            if user is None:
                raise SystemExit(f"error: no account with e-mail {args.email}")
            pw = _password(args.email)
            check_password_strength(pw)
            set_password(engine, user.id, pw)
            print(f"password of #{user.id} {user.email} changed")
    except (AuthError, ValueError, StorageUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
