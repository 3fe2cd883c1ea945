"""`imagegate register ...`: enrol people and record their consents."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from ..channels import CHANNELS, expand_channels
from ..codes import Role
from ..errors import ImagegateError, RegisterDamagedError
from ..register.store import ROLES, Register, parse_date, restore_over
from .common import (
    ConfigOpt,
    JsonOpt,
    LangOpt,
    RegisterOpt,
    chosen_lang,
    command_lang,
    config_file,
    fail,
    for_terminal,
    register_location,
    reported,
)

app = typer.Typer(help="Enrol people, record consents, withdraw and forget.", no_args_is_help=True,
                  rich_markup_mode=None)  # plain help: flags without a `<bool>` value



def _channels(values: list[str] | None) -> list[str] | None:
    """Unknown channels are a usage error (exit 2), caught before the register is touched."""
    if not values:
        return values
    try:
        return expand_channels(values)
    except ImagegateError as exc:
        raise typer.BadParameter(exc.message, param_hint="--channel") from None


ChannelOpt = Annotated[list[str], typer.Option(
    "--channel", "-c", callback=_channels, metavar="CHANNEL",
    help=f"Channel(s): {', '.join(CHANNELS)} or all. Repeat or comma-separate.")]


def _confirm(yes: bool, question: str, refused: str) -> None:
    """Destructive commands ask first unless --yes; a refusal exits 1 having changed nothing."""
    if not yes and not typer.confirm(question):
        typer.echo(refused)
        raise typer.Exit(1)


def _open(ctx: typer.Context, register: Path | None, *, create: bool) -> Register:
    with reported():
        location = register_location(ctx, register)
        if create:
            location.check_folder()
        return Register(location.path, create=create)


BasisOpt = Annotated[str | None, typer.Option(
    "--basis", metavar="consent|other", help="Why the face template may be held: consent (the person agreed to "
                    "be enrolled; not consent to publish) or other (another documented basis).", show_default=False)]
BasisEvidenceOpt = Annotated[str | None, typer.Option(
    "--evidence", metavar="ID", help="Reference to the document recording the basis (e.g. the signed form's id).",
    show_default=False)]
BasisDateOpt = Annotated[str | None, typer.Option(
    "--basis-date", metavar="YYYY-MM-DD", help="Date of that document, YYYY-MM-DD (default: today).",
    show_default=False)]


def _basis_command(name: str) -> str:
    return f'`imagegate register basis "{name}" --basis consent|other --evidence ID`'


def _basis(basis: str, evidence: str | None, day: str | None) -> dict:
    """Checked before any photo is read: a usage error (exit 2) changes nothing."""
    from ..register.schema import BASES

    if basis not in BASES:
        raise typer.BadParameter(f"expected one of {', '.join(BASES)}, found {basis!r}", param_hint="--basis")
    if not (evidence or "").strip():
        raise typer.BadParameter("the basis needs the document that records it", param_hint="--evidence")
    try:
        when = parse_date(day) if day else None
    except ImagegateError as exc:
        raise typer.BadParameter(exc.message, param_hint="--basis-date") from None
    return {"basis": basis, "evidence": evidence, "basis_date": when}


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Unique name of the person.")],
    role: Annotated[str, typer.Option("--role", "-r", metavar="|".join(ROLES), help="What the person is.")],
    photo: Annotated[list[Path], typer.Option("--photo", "-p", metavar="FILE",
                                              help="Reference photo (one face); repeatable.")],
    note: Annotated[str | None, typer.Option("--note", metavar="TEXT", help="Free-text note.")] = None,
    basis: BasisOpt = None,
    evidence: BasisEvidenceOpt = None,
    basis_date: BasisDateOpt = None,
    register: RegisterOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Enrol a person from reference photos. Only face templates are stored, never the photos."""
    from ..config import load_settings
    from ..enrol import enrol
    from ..gate import Gate

    if role not in ROLES:
        raise typer.BadParameter(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}", param_hint="--role")
    recorded = _basis(basis, evidence, basis_date) if basis else {}
    reg = _open(ctx, register, create=True)
    with reported(command_lang(ctx)):
        with reg, Gate(register=reg, settings=load_settings(config_file(ctx, config))) as gate:
            person, photos = enrol(gate, name, role, [str(p) for p in photo], note, **recorded)
    typer.echo(f"enrolled {person.name} ({person.role}) from {len(photos)} photo(s); "
               f"no consent recorded yet (see `imagegate register consent`)")
    if not basis:
        typer.secho(f"note: no basis for holding {person.name}'s face template is recorded; record it with "
                    f"{_basis_command(person.name)}", err=True, fg=typer.colors.YELLOW)


@app.command("basis")
def basis_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Registered person.")],
    basis: Annotated[str, typer.Option("--basis", metavar="consent|other", help="consent or other.")],
    evidence: Annotated[str, typer.Option("--evidence", metavar="ID", help="The document recording the basis.")],
    basis_date: BasisDateOpt = None,
    register: RegisterOpt = None,
) -> None:
    """Record (or confirm at a review) why a person's face template may be held."""
    recorded = _basis(basis, evidence, basis_date)
    with _open(ctx, register, create=False) as reg, reported():
        b = reg.set_basis(name, **recorded)
        person = reg.get(name)
    typer.echo(f"basis recorded for {person.name}: {b.basis} ({b.evidence}, {b.basis_date})")


@app.command("review")
def review(
    ctx: typer.Context,
    json_out: JsonOpt = False,
    register: RegisterOpt = None,
    config: ConfigOpt = None,
) -> None:
    """List people due for review: enrolled (or reviewed) longer ago than review_months, every consent
    ended, or no recorded basis; with the command to forget each. Exit 0 when nobody is due, 1 otherwise."""
    from ..config import load_settings
    from ..register.review import due_for_review
    from ..words.messages import ui

    lang = command_lang(ctx)
    with reported():
        months = load_settings(config_file(ctx, config)).review_months
    path = register_location(ctx, register).path
    due = []
    if path.exists():
        with _open(ctx, register, create=False) as reg, reported():
            due = due_for_review(reg, months)
    if json_out:
        typer.echo(json.dumps([d.to_dict() for d in due], ensure_ascii=False, indent=2))
    elif not due:
        typer.echo(f"nobody is due for review (review_months = {months})")
    for d in [] if json_out else due:
        why = "; ".join(ui(r, lang, months=months) for r in d.reasons)
        typer.echo(f"{for_terminal(d.name)} ({d.role}, since {d.reviewed_on}): {why}")
        typer.echo(f"    keep: {_basis_command(for_terminal(d.name))}    erase: {for_terminal(d.command)}")
    raise typer.Exit(1 if due else 0)


@app.command("consent")
def consent(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Registered person.")],
    channel: ChannelOpt,
    until: Annotated[str | None, typer.Option("--until", metavar="YYYY-MM-DD", help="Last valid day.")] = None,
    start: Annotated[str | None, typer.Option(
        "--from", metavar="YYYY-MM-DD", help="The day the consent was given (default: today). A check dated "
                                             "earlier is not covered.", show_default=False)] = None,
    risks_explained: Annotated[bool, typer.Option(
        "--risks-explained", help="The risks of publishing were explained (rule 4; required for clients).")] = False,
    evidence: Annotated[str | None, typer.Option("--evidence", metavar="TEXT",
                                                    help="Reference to the signed form etc.")] = None,
    register: RegisterOpt = None,
) -> None:
    """Record a consent for one or more channels."""
    if start is not None:
        try:
            parse_date(start)
        except ImagegateError as exc:
            raise typer.BadParameter(exc.message, param_hint="--from") from None
    if until is not None:
        try:
            last_day = parse_date(until)
        except ImagegateError as exc:
            raise typer.BadParameter(exc.message, param_hint="--until") from None
        if last_day < dt.date.today():  # recorded (history is kept), but never silently
            typer.secho(f"note: --until {last_day.isoformat()} is in the past: this consent is recorded as already "
                        "expired and allows nothing", err=True, fg=typer.colors.YELLOW)
    with _open(ctx, register, create=False) as reg:
        with reported():
            rows = reg.add_consent(name, channel, valid_until=until, risks_explained=risks_explained,
                                   evidence=evidence, valid_from=start)
            person = reg.get(name)
    chans = ", ".join(r.channel for r in rows)
    last = rows[0].valid_until if rows else None  # as stored: 20270630 is shown as 2027-06-30
    typer.echo(f"consent recorded for {person.name}: {chans}" + (f" from {rows[0].valid_from}" if start else "")
               + (f" until {last}" if last else "") + ("; risks explained" if risks_explained else ""))
    if person.role == Role.CLIENT and not risks_explained:
        typer.secho("note: a client's consent counts only when the risks were explained (rule 4); "
                    "add --risks-explained once they have been", err=True, fg=typer.colors.YELLOW)


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Registered person.")],
    channel: Annotated[list[str] | None, typer.Option(
        "--channel", "-c", callback=_channels, metavar="CHANNEL", help="Only these channels.")] = None,
    register: RegisterOpt = None,
) -> None:
    """Withdraw consent (all channels by default). The history is kept."""
    with _open(ctx, register, create=False) as reg:
        with reported():
            n = reg.withdraw(name, channel or None)
    typer.echo(f"withdrew {n} active consent(s) of {name}")


@app.command("forget")
def forget(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Registered person.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    register: RegisterOpt = None,
) -> None:
    """Erase a person: their templates, consents and history. Cannot be undone."""
    with _open(ctx, register, create=False) as reg:
        with reported():
            reg.get(name)
        _confirm(yes, f"Erase {name} and all their data from {reg.path}?", "nothing erased")
        with reported():
            reg.forget(name)
    typer.echo(f"erased {name}")


@app.command("list")
def list_(
    ctx: typer.Context,
    json_out: JsonOpt = False,
    register: RegisterOpt = None,
) -> None:
    """List people, roles, consent state per channel and template counts (never embeddings)."""
    lang = command_lang(ctx)
    path = register_location(ctx, register).path
    if not path.exists():
        rows = []
    else:
        with _open(ctx, register, create=False) as reg:
            with reported():
                rows = reg.summary()
    unrecorded = [r["name"] for r in rows if r["enrolment"]["basis"] == "unrecorded"]
    if unrecorded:
        typer.secho(f"warning: no basis for holding the face template is recorded for {len(unrecorded)} "
                    f"person(s): {', '.join(map(for_terminal, unrecorded))}; record it with "
                    f"{_basis_command('NAME')}", err=True, fg=typer.colors.YELLOW)
    if json_out:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo(for_terminal(f"the register {path} is empty"))
        return
    for i, r in enumerate(rows):
        if i:
            typer.echo("")
        for line in person_block(r, lang):
            typer.echo(line)


def person_block(row: dict, lang: str) -> list[str]:
    """One person of `register list`: a line per channel, every channel, with the consent's end date.
    A table with every channel and its dates would be ~130 columns wide."""
    from ..words.messages import consent_cell, role_text, ui

    photos = ui("reference_photos", lang, n=row["templates"])
    lines = [f"{for_terminal(row['name'])} ({role_text(row['role'], lang)}, {photos})"]
    for channel in CHANNELS:
        lines.append(f"    {channel:<10} {consent_cell(row['consent'][channel], row['role'], lang).text}")
    return lines


@app.command("export")
def export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Registered person.")],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE", help="JSON file to write; a readable page is "
                                      "written beside it with .html. Neither may exist.")],
    audit_log: Annotated[list[Path] | None, typer.Option(
        "--audit", metavar="FILE",
        help="A watcher's audit.jsonl: include the decisions that named this person. Repeatable.",
        show_default=False)] = None,
    include_templates: Annotated[bool, typer.Option(
        "--include-templates",
        help="Also write the face templates' numbers (biometric data; off by default).")] = False,
    register: RegisterOpt = None,
    lang: LangOpt = None,
) -> None:
    """Write what the register holds about one person (for their access request): JSON and an HTML page
    (in --lang)."""
    from ..outputs.export_page import render
    from ..register.export import person_record, write_export

    lang = chosen_lang(ctx, lang)
    with _open(ctx, register, create=False) as reg, reported():
        record = person_record(reg, name, audit_logs=audit_log or [], include_templates=include_templates)
        paths = write_export(record, out, render(record, lang))
    typer.echo(f"exported {record['person']['name']}: {paths[0]} and {paths[1]} (mode 0600)")


@app.command("backup")
def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="New file for the copy (never overwritten).")],
    register: RegisterOpt = None,
) -> None:
    """Write a consistent copy of the register, safe while other imagegate processes use it.

    The copy holds the same biometric templates: keep it as private as the register (it is created 0600).
    """
    with _open(ctx, register, create=False) as reg:
        with reported():
            out = reg.backup(file)
    typer.echo(for_terminal(f"backed up {reg.path} to {out}"))


@app.command("restore")
def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A backup made with `imagegate register backup`.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    register: RegisterOpt = None,
) -> None:
    """Replace the register's whole contents with a backup (people enrolled since are lost).

    A damaged register (cut short, failing its checks) is replaced by the checked backup as a whole file."""
    path = register_location(ctx, register).path
    try:
        reg = Register(path, create=True)
    except RegisterDamagedError as exc:
        typer.secho(for_terminal(f"imagegate: {exc}"), err=True, fg=typer.colors.YELLOW)
        _confirm(yes, for_terminal(f"Replace the damaged {path} with {file}?"), "nothing restored")
        with reported():
            restore_over(path, file)
    except ImagegateError as exc:
        raise fail(exc) from None
    else:
        with reg:
            _confirm(yes, for_terminal(f"Replace everything in {path} with {file}?"), "nothing restored")
            with reported():
                reg.restore_from(file)
    with reported(), Register(path, create=False) as reg:
        n = len(reg.people())
    typer.echo(for_terminal(f"restored {path} from {file}: {n} people"))
