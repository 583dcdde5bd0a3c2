"""The `consent` subcommands of the office's workspace and of the registry file: `serve`,
`user add` / `user remove` / `user list`, `backup`, `restore` and `takedowns-ran`.

`cli.build_parser` adds them with ``add_commands``; they read the same
settings (``--settings``, ``--registry``, ``--key-file``) through ``common.settings_of``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from consent_office.accounts import ROLES, AccountError, Accounts, office_db_path
from consent_office.audit import record
from consent_registry import storage
from consent_registry.registry import Registry, RegistryError, default_actor
from consent_registry.settings import GateSettings

from .common import DEFAULT_SETTINGS_FILE, open_registry, settings_of

SettingsOf = Callable[[argparse.Namespace], GateSettings]


class CommandError(RegistryError):
    """Printed by `consent` as `consent: <message>`."""


def add_commands(sub, where: argparse.ArgumentParser, who: argparse.ArgumentParser) -> None:
    """Add the workspace's subcommands to `consent`'s subparsers."""
    p = sub.add_parser(
        "serve",
        parents=[where],
        help="the consent office's workspace in a browser (http://127.0.0.1:8001)",
    )
    p.add_argument("--host", help="address to listen on (default: 127.0.0.1, this computer only)")
    p.add_argument("--port", type=int, help="port (default: CONSENT_OFFICE_PORT, 8001)")
    p.set_defaults(func=cmd_serve)

    users = sub.add_parser("user", help="accounts of the web workspace")
    user_sub = users.add_subparsers(dest="user_command", metavar="ACTION")
    user_sub.required = True
    p = user_sub.add_parser("add", parents=[where, who], help="add an account (asks a password)")
    p.add_argument("name", help="the sign-in name, e.g. m.chen")
    p.add_argument(
        "--role",
        required=True,
        choices=ROLES,
        help="office: may change records and approve photos; viewer: may only look",
    )
    p.add_argument("--replace", action="store_true", help="set a new password or role")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of asking",
    )
    p.set_defaults(func=cmd_user_add)
    p = user_sub.add_parser(
        "remove", parents=[where, who], help="delete an account and end its sessions"
    )
    p.add_argument("name", help="the sign-in name")
    p.set_defaults(func=cmd_user_remove)
    p = user_sub.add_parser("list", parents=[where], help="list the accounts")
    p.set_defaults(func=cmd_user_list)

    p = sub.add_parser(
        "backup",
        parents=[where],
        help="copy the registry safely, even while it is in use (SQLite online backup)",
    )
    p.add_argument("dest", metavar="DEST", help="a backup file, or a folder for a dated file")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", parents=[where], help="put a backup in place of the registry")
    p.add_argument("backup", metavar="BACKUP", help="the backup file (from `consent backup`)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--without-withdrawals-journal",
        action="store_true",
        help="restore even though the withdrawals journal beside the registry is missing or "
        "damaged: withdrawals made after the backup may come back (the refusal lists them)",
    )
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "takedowns-ran",
        parents=[where],
        help="for the scheduled publish: mark the office's queued takedowns as done",
    )
    p.add_argument(
        "--starting",
        action="store_true",
        help="run before the publish: the requests waiting now are the ones it answers",
    )
    p.set_defaults(func=cmd_takedowns_ran)


def cmd_serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from consent_office.app import serve
    from consent_office.settings import load_office_settings

    source = args.settings or (
        DEFAULT_SETTINGS_FILE if Path(DEFAULT_SETTINGS_FILE).is_file() else None
    )
    office = load_office_settings(Path(source) if source else None)
    office = office.with_gate(settings_of(args))
    if args.host:
        office = replace(office, host=args.host)
    if args.port:
        office = replace(office, port=args.port)
    serve(office)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin or not sys.stdin.isatty():
        raise CommandError(
            "`consent user add` asks for the password: run it in a terminal, or give it on "
            "standard input with --password-stdin"
        )
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("The same password again: ") != first:
        raise CommandError("the two passwords differ: nothing was saved, run it again")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    password = _password(args)
    with open_registry(args) as registry:
        try:
            with Accounts(office_db_path(settings.registry)) as accounts:
                user = accounts.add_user(args.name, args.role, password, replace=args.replace)
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        record(
            registry,
            args.by or default_actor(),
            "office-user-replace" if args.replace else "office-user-add",
            {"user": user.name, "role": user.role},
        )
    print(
        f"{'Updated' if args.replace else 'Added'} the account {user.name} ({user.role}) of "
        "the consent office's workspace. Sign in at the address `consent serve` prints.",
        flush=True,
    )
    return 0


def cmd_user_remove(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    with open_registry(args) as registry:
        try:
            with Accounts(office_db_path(settings.registry)) as accounts:
                accounts.remove_user(args.name)
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        record(registry, args.by or default_actor(), "office-user-remove", {"user": args.name})
    print(f"Removed the account {args.name}: it can no longer sign in.", flush=True)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    path = office_db_path(settings.registry)
    if not path.exists():
        print("No accounts yet: add one with `consent user add NAME --role office`.")
        return 0
    with Accounts(path) as accounts:
        for user in accounts.users():
            print(f"{user.name}\t{user.role}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    try:
        result = storage.backup(settings.registry, Path(args.dest))
    except storage.StorageError as exc:
        raise CommandError(str(exc)) from None
    office = office_db_path(settings.registry)
    extra = ""
    if office.exists():
        copy = result.path.with_name(f"{result.path.stem}-office{result.path.suffix}")
        try:
            storage.backup(office, copy)
            extra = f" The workspace's accounts are in {copy}."
        except storage.StorageError as exc:
            extra = f" The workspace's accounts could not be copied ({exc})."
    from consent_registry import withdrawals

    journal = withdrawals.copy_for_backup(settings.registry, result.path)
    if journal is not None:
        extra += f" The withdrawals journal is in {journal}."
    print(
        f"Backed up the consent registry {settings.registry} to {result.path} "
        f"({result.people} records, {result.audit_entries} audit entries; checked).{extra} "
        f"Keep the key file ({settings.key_file}) backed up separately.",
        flush=True,
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    registry = settings.registry
    if not args.yes:
        if not sys.stdin or not sys.stdin.isatty():
            raise CommandError(
                f"`consent restore` replaces the registry {registry} and asks for "
                "confirmation: run it in a terminal, or add --yes"
            )
        answer = input(f"Replace {registry} with the backup {args.backup}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was restored.")
            return 0
    from consent_registry import crypto, withdrawals

    try:  # withdrawals made after the backup must survive it (the journal)
        plan = withdrawals.check_restore(
            registry,
            Path(args.backup),
            crypto.read_key_file(settings.key_file),
            args.without_withdrawals_journal,
        )
    except (withdrawals.JournalError, crypto.KeyFileError) as exc:
        raise CommandError(str(exc)) from None
    try:
        kept = storage.restore(Path(args.backup), registry)
    except storage.StorageError as exc:
        raise CommandError(str(exc)) from None
    with Registry.open(registry, settings.key_file) as opened:
        reapplied = withdrawals.apply_restore(opened, plan, Path(args.backup), default_actor())
        people = len(opened.list_people())
        problems = opened.verify_audit() + opened.integrity_problems()
        record(opened, default_actor(), "restore-backup", {"backup": str(args.backup)})
    moved = f" The file it replaced is kept as {kept}." if kept else ""
    check = (
        "The audit log and every seal check out."
        if not problems
        else f"Warning: {len(problems)} problem(s) in the backup: run `consent audit --verify`."
    )
    print(
        f"Restored {registry} from {args.backup} ({people} records).{moved} {check} "
        "Changes made after that backup are not in it, except the withdrawals below: make "
        "them again, then rebuild the site (make html).",
        flush=True,
    )
    for line in reapplied:
        print(line, flush=True)
    return 0


def cmd_takedowns_ran(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    path = office_db_path(settings.registry)
    if not path.exists():
        return 0
    with Accounts(path) as accounts:
        if args.starting:
            count = accounts.pick_takedowns()
            print(f"The publish answers {count} queued takedown request(s).", flush=True)
        else:
            count = accounts.mark_takedowns_ran("published by the scheduled publish")
            print(f"Marked {count} queued takedown request(s) as done.", flush=True)
    return 0
