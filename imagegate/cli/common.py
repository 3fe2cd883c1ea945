"""Pieces shared by the CLI commands: options, exit codes, error display."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ..codes import Decision, worst
from ..errors import ImagegateError
from ..filenames import for_terminal, printable  # the CLI's one escaping mechanism
from ..image.paths import Target, collect
from ..results import Failure, Verdict
from ..words import messages
from ..words.wording import reason_text

# Exit codes (documented in the README). A batch exits with its worst outcome,
# in the order error > blocked > needs consent > allowed.
EXIT_ALLOWED = 0
EXIT_NEEDS_CONSENT = 1
EXIT_USAGE = 2  # click/Typer's own code for bad arguments
EXIT_BLOCKED = 3
EXIT_ERROR = 4

EXIT_FOR: dict[str, int] = {Decision.ALLOWED: EXIT_ALLOWED, Decision.NEEDS_CONSENT: EXIT_NEEDS_CONSENT,
                            Decision.BLOCKED: EXIT_BLOCKED, Decision.ERROR: EXIT_ERROR}


def worse(a: str, b: str) -> Decision:
    """The worse of two outcomes, the one a batch exits with."""
    return worst((a, b))


# No envvar= here: Typer would fill the option from IMAGEGATE_REGISTER, and a variable would then beat
# `imagegate --register X`. The order lives in one place, register.locate_register.
REGISTER_HELP = "Consent register file (default: IMAGEGATE_REGISTER, else the per-user data file)."
RegisterOpt = Annotated[Path | None, typer.Option("--register", help=REGISTER_HELP, show_default=False,
                                                    metavar="FILE")]
# No envvar= either, for the same reason: the order lives in config_file() below.
CONFIG_HELP = "TOML settings file (default: IMAGEGATE_CONFIG_FILE; see `imagegate config show`)."
ConfigOpt = Annotated[Path | None, typer.Option("--config", help=CONFIG_HELP, show_default=False,
                                                  metavar="FILE")]
LangOpt = Annotated[str | None, typer.Option(
    "--lang", help="Message language: fi or en (default: from the locale).", show_default=False,
    metavar="fi|en")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
EventOpt = Annotated[str | None, typer.Option(
    "--event", metavar="EVENT", help="Whether the photos are from a public event: public (rule 4's crowd "
                    "exception applies), private (it does not) or unknown (it covers people nobody "
                    "recognised, not recognised clients). Default: the `event` setting, unknown.", show_default=False)]


def event_or_fail(event: str | None) -> str | None:
    from ..policy.rules import normalise_event

    if event is None:
        return None
    try:
        return normalise_event(event)
    except ImagegateError as exc:
        raise typer.BadParameter(exc.message, param_hint="--event") from None


JsonLinesOpt = Annotated[bool, typer.Option(
    "--json", help="JSON Lines on stdout: one compact JSON object per photo, written as each photo finishes.")]
JsonArrayOpt = Annotated[bool, typer.Option(
    "--json-array", help="One JSON array of all results on stdout, written at the end.")]


def channel_option(what: str, default: str | None = "facebook"):
    """`--channel CHANNEL` for commands that judge for one channel: the help lists the channels."""
    from ..channels import CHANNEL_ALIASES, CHANNELS

    aliases = ", ".join(f"{a} = {c}" for a, c in CHANNEL_ALIASES.items())
    return typer.Option("--channel", "-c", metavar="CHANNEL", show_default=default is not None,
                        help=f"{what}: one of {', '.join(CHANNELS)} ({aliases}).")


class JsonStream:
    """Results as JSON on stdout: JSON Lines (one compact object per line, flushed at once, so a
    reader sees each photo as it finishes), or with `array` one indented array written by `close`."""

    def __init__(self, *, lines: bool, array: bool) -> None:
        self.on = lines or array
        self._array: list | None = [] if array else None

    def emit(self, obj: dict) -> None:
        if self._array is not None:
            self._array.append(obj)
        elif self.on:
            typer.echo(printable(json.dumps(obj, ensure_ascii=False, separators=(",", ":"))))
            sys.stdout.flush()

    def close(self) -> None:
        if self._array is not None:
            typer.echo(printable(json.dumps(self._array, ensure_ascii=False, indent=2)))
            self._array = None


class State:
    """Global options given before the command (`imagegate --register R check ...`)."""

    def __init__(self, register: Path | None = None, config: Path | None = None, lang: str | None = None):
        self.register = register
        self.config = config
        self.lang = lang


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()


def pick(local, ctx: typer.Context, name: str):
    return local if local is not None else getattr(state(ctx), name)


def register_location(ctx: typer.Context, local: Path | None):
    """The register for this command: its own --register or the global one (naming two different files is
    a usage error, not a guess), then IMAGEGATE_REGISTER, then the per-user default."""
    from ..register.location import locate_register

    given = state(ctx).register
    if local is not None and given is not None and os.path.abspath(local) != os.path.abspath(given):
        raise typer.BadParameter(f"two registers named: {given} before the command and {local} after it; "
                                 "name one", param_hint="--register")
    return locate_register(local if local is not None else given)


def config_file(ctx: typer.Context, local: Path | None) -> Path | None:
    """The settings file for this command, in one order: its own --config or the global one (two
    different files named is a usage error), then IMAGEGATE_CONFIG_FILE; None means defaults plus the
    per-user file."""
    given = state(ctx).config
    if local is not None and given is not None and os.path.abspath(local) != os.path.abspath(given):
        raise typer.BadParameter(f"two settings files named: {given} before the command and {local} after "
                                 "it; name one", param_hint="--config")
    from ..config import settings_file

    return settings_file(local if local is not None else given)


def fail(exc: ImagegateError | str, code: int = EXIT_ERROR, lang: str = "en") -> typer.Exit:
    message = str(exc)
    if lang != "en" and isinstance(exc, ImagegateError) and exc.code:
        message = messages.error_text(exc, lang)  # in the user's language where the error has a known code
    message = for_terminal(message)  # messages quote paths and names
    typer.secho(f"imagegate: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def command_lang(ctx: typer.Context) -> str:
    """The language of a command without its own --lang: the global one, else the locale."""
    try:
        return messages.check_lang(state(ctx).lang)
    except ValueError:
        return "en"


@contextmanager
def reported(lang: str = "en"):
    """Inside the block, an ImagegateError becomes the CLI's error line and exit code 4."""
    try:
        yield
    except ImagegateError as exc:
        raise fail(exc, lang=lang) from None


def stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def lang_or_fail(lang: str | None) -> str:
    try:
        return messages.check_lang(lang)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None


def chosen_lang(ctx: typer.Context, lang: str | None) -> str:
    """The language of a command with its own --lang: that, else the global one, else the locale."""
    return lang_or_fail(pick(lang, ctx, "lang"))


def channel_or_fail(channel: str) -> str:
    """An unknown channel is a usage error (exit 2), said before any model loads."""
    from ..channels import normalise_channel

    try:
        return normalise_channel(channel)
    except ImagegateError as exc:
        raise typer.BadParameter(exc.message, param_hint="--channel") from None


def require_register(location) -> None:
    """A register named on purpose (--register, IMAGEGATE_REGISTER) must exist: a typo or an unmounted
    share must never read as "nobody is enrolled"."""
    if location.named and not location.path.exists():
        raise ImagegateError(f"register {location} does not exist",
                             hint="enrol people with `imagegate register add`, or omit --register")


def open_gate(ctx, lang, channel: str, on: str | None, register, config):
    """Validate the options of a command that judges photos and open the Gate: (lang, channel, day, gate)."""
    from ..channels import normalise_channel
    from ..config import load_settings
    from ..gate import Gate
    from ..register.store import parse_date

    lang = chosen_lang(ctx, lang)
    try:
        channel = normalise_channel(channel)
        day = parse_date(on) if on else None
    except ImagegateError as exc:
        raise typer.BadParameter(exc.message) from None
    with reported():
        config = config_file(ctx, config)
        settings = load_settings(config)
        note_settings(settings, config)
        reg = register_location(ctx, register)
        require_register(reg)
        return lang, channel, day, Gate(register=reg, settings=settings)


def collect_targets(paths, lang: str) -> list[Target]:
    """The photos to check; a FIFO or device met in a folder is skipped with a note on stderr."""
    def note(path: str, kind: str) -> None:
        typer.secho(messages.ui("skipped_special", lang, path=display_path(path), kind=kind), err=True,
                    fg=typer.colors.YELLOW)

    return list(collect(paths, on_skip=note))


def say_no_photos(lang: str) -> None:
    typer.secho(messages.ui("no_photos", lang), err=True, fg=typer.colors.YELLOW)


def note_settings(settings, config) -> None:
    """Say on stderr which settings differ from the defaults, and from where: a weakened gate
    (a per-user file read silently, an old experiment left in it) must be visible at every run."""
    from ..config import settings_sources

    changed = settings.changed()
    if changed:
        where = ", ".join(settings_sources(config)) or "?"
        values = ", ".join(f"{k} = {v!r}" for k, v in changed.items())
        typer.secho(for_terminal(f"imagegate: settings differ from the defaults ({where}): {values}"), err=True,
                    fg=typer.colors.YELLOW)


def display_path(path: str) -> str:
    """A path for a human reader: relative where shorter, and with control and bidi-override characters
    escaped, so a file named `x\rALLOWED  party.jpg` cannot print as an ALLOWED line over its verdict."""
    try:
        rel = os.path.relpath(path)
        path = rel if not rel.startswith("..") else path
    except ValueError:
        pass
    return for_terminal(path)


def say_review_notice(open_register, months: int, lang: str) -> None:
    """Once a day (per user), say on stderr that people are due for a retention review. Never stops a
    check: a register that cannot be read is reported by the check itself."""
    from ..register.review import daily_notice

    try:
        reg, close = open_register()
        try:
            text = daily_notice(reg, months, lang)
        finally:
            close()
    except ImagegateError:
        return
    if text:
        typer.secho(f"imagegate: {text}", err=True, fg=typer.colors.YELLOW)


# -- a result as people read it: `check`, `redact` and the watcher print the same lines -------------------

COLOUR: dict[str, str] = {Decision.ALLOWED: typer.colors.GREEN, Decision.NEEDS_CONSENT: typer.colors.YELLOW,
                          Decision.BLOCKED: typer.colors.RED, Decision.ERROR: typer.colors.MAGENTA}


def heading_width(lang: str) -> int:
    """Where the text after a verdict word starts: past the longest verdict word of `lang`."""
    return max(13, *(len(messages.decision_text(d, lang)) for d in COLOUR)) + 2


def print_heading(decision: str, text: str, lang: str) -> None:
    """`VERDICT        text`, the verdict coloured and padded so the texts line up."""
    word = messages.decision_text(decision, lang).upper()
    typer.secho(f"{word:<{heading_width(lang) - 1}}", fg=COLOUR[decision], bold=True, nl=False)
    typer.echo(f" {text}")


def print_human(result: Verdict | Failure, lang: str, details: bool) -> None:
    print_heading(result.decision, display_path(result.file), lang)
    print_body(result, lang, details)


def print_body(result: Verdict | Failure, lang: str, details: bool) -> None:
    """A result's reasons (or error) and, with `details`, its faces."""
    if isinstance(result, Failure):
        typer.echo(f"    {for_terminal(messages.error_text(result.error, lang))}")
        return
    for r in result.reasons:
        rule = f"[{messages.ui('report_rule', lang)} {r.rule}] " if r.rule else ""
        typer.echo(f"    - {rule}{for_terminal(reason_text(r, lang))}")
    if details:
        width = max(16, *(len(messages.category_text(c, lang)) for c in messages.CATEGORIES))
        for f in result.faces:
            x, y = f.box[:2]
            h = f.measurement.height_px
            who = f.status.person.name if f.status.person else "-"
            where = messages.ui("details_face", lang, height=f"{h:6.0f}",
                                publish=f"{f.measurement.publish_height_px:5.0f}", x=f"{x:.0f}", y=f"{y:.0f}")
            typer.echo(printable(f"      #{f.index + 1:<3} {messages.category_text(f.status.category, lang):<{width}} "
                                 f"{where}  {who}"))
