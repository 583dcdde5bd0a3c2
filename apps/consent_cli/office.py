"""The `consent` subcommands of the office's workspace and of the registry file: `serve`,
`user add` / `user remove` / `user list`, `backup`, `restore` and `takedowns-ran`.

`cli` adds ``COMMANDS`` to the `consent` group; they take the same shared options
(``common.where_options``, ``common.by_option``) and read the settings through
``common.settings_of``. The workspace itself (consent_office) knows nothing of them: this
package stands above it and the registry.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from consent_office.accounts import ROLES, AccountError, Accounts, office_db_path
from consent_office.audit import record
from consent_registry import storage
from consent_registry.registry import Registry, default_actor

from .common import (
    DEFAULT_SETTINGS_FILE,
    Args,
    CliError,
    CommandGroup,
    by_option,
    command,
    open_registry,
    settings_of,
    where_options,
)


class CommandError(CliError):
    """A workspace command's refusal, printed by `consent` as `consent: <message>`."""


@command("serve", help="the consent office's workspace in a browser (http://127.0.0.1:8001)")
@where_options
@click.option("--host", help="address to listen on (default: 127.0.0.1, this computer only)")
@click.option("--port", type=int, help="port (default: CONSENT_OFFICE_PORT, 8001)")
def cmd_serve(args: Args) -> int:
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


def _password(args: Args) -> str:
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


@command("add", help="add an account (asks a password)")
@where_options
@by_option
@click.argument("name", help="the sign-in name, e.g. m.chen")
@click.option(
    "--role",
    required=True,
    type=click.Choice(ROLES),
    help="office: may change records and approve photos; viewer: may only look",
)
@click.option("--replace", is_flag=True, help="set a new password or role")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="read the password from the first line of standard input instead of asking",
)
def cmd_user_add(args: Args) -> int:
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


@command("remove", help="delete an account and end its sessions")
@where_options
@by_option
@click.argument("name", help="the sign-in name")
def cmd_user_remove(args: Args) -> int:
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


@command("list", help="list the accounts")
@where_options
def cmd_user_list(args: Args) -> int:
    settings = settings_of(args)
    path = office_db_path(settings.registry)
    if not path.exists():
        print("No accounts yet: add one with `consent user add NAME --role office`.")
        return 0
    with Accounts(path) as accounts:
        for user in accounts.users():
            print(f"{user.name}\t{user.role}")
    return 0


@command("backup", help="copy the registry safely, even while it is in use (SQLite online backup)")
@where_options
@click.argument("dest", metavar="DEST", help="a backup file, or a folder for a dated file")
def cmd_backup(args: Args) -> int:
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


@command("restore", help="put a backup in place of the registry")
@where_options
@click.argument("backup", metavar="BACKUP", help="the backup file (from `consent backup`)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.option(
    "--without-withdrawals-journal",
    is_flag=True,
    help="restore even though the withdrawals journal beside the registry is missing or "
    "damaged: withdrawals made after the backup may come back (the refusal lists them)",
)
def cmd_restore(args: Args) -> int:
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


@command(
    "takedowns-ran", help="for the scheduled publish: mark the office's queued takedowns as done"
)
@where_options
@click.option(
    "--starting",
    is_flag=True,
    help="run before the publish: the requests waiting now are the ones it answers",
)
def cmd_takedowns_ran(args: Args) -> int:
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


# `consent user ACTION`: the accounts of the web workspace.
user = CommandGroup(
    "user",
    help="accounts of the web workspace",
    short_help="accounts of the web workspace",
    subcommand_metavar="ACTION [ARGS]...",
    commands=[cmd_user_add, cmd_user_remove, cmd_user_list],
)

# In `consent --help`, in this order.
COMMANDS = (cmd_serve, user, cmd_backup, cmd_restore, cmd_takedowns_ran)
