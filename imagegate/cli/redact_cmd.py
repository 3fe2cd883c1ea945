"""`imagegate redact`: publishable copies with the faces that lack consent hidden."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..codes import Decision
from ..errors import fail_closed
from ..results import Failure
from ..words import messages
from ..words.report import report, verdict_json
from .common import (
    EXIT_FOR,
    ConfigOpt,
    EventOpt,
    JsonArrayOpt,
    JsonLinesOpt,
    JsonStream,
    LangOpt,
    RegisterOpt,
    channel_option,
    collect_targets,
    display_path,
    event_or_fail,
    open_gate,
    print_body,
    print_heading,
    print_human,
    say_no_photos,
    worse,
)


def _one(gate, path: str, out: Path, *, channel: str, style: str, on, event):
    """Redact one photo; returns (Redaction or Failure, saved path or None)."""
    from ..redact import redact, save

    def work():
        red = redact(gate, path, channel=channel, style=style, on=on, event=event)
        return red, (save(red, out) if red.allowed else None)

    done = fail_closed(path, work, doing="redacting")  # a crash is an error result, never a copy
    return (done, None) if isinstance(done, Failure) else done


def _print(result, saved: Path | None, lang: str, details: bool) -> None:
    """The copy first (its path and verdict), then plainly that the original is unchanged: a verdict word
    beside the original's name would read as if the original had been cleared."""
    if isinstance(result, Failure):
        print_human(result, lang, details)
        return
    source = display_path(result.source)
    heading = display_path(str(saved)) if saved is not None else messages.ui("redact_no_copy", lang, path=source)
    print_heading(result.after.decision, heading, lang)
    if saved is not None:
        typer.echo("    " + messages.ui("redact_copy_of", lang, path=source, n=len(result.areas)))
    print_body(result.after, lang, details)
    if saved is None:
        typer.echo("    " + messages.ui("redact_not_saved", lang))
    typer.echo("    " + messages.ui(f"redact_original_{result.before.decision}", lang))


def redact(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="Photos and folders (walked recursively).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the redacted copies (created if missing).",
                                      show_default=False, metavar="FOLDER")],
    channel: Annotated[str, channel_option("Where the copies will be posted")] = "facebook",
    style: Annotated[str, typer.Option("--style", metavar="blur|pixelate|box",
                                       help="How faces are hidden.")] = "blur",
    on: Annotated[str | None, typer.Option(
        "--on", help="Check consents as of this date.", show_default=False, metavar="YYYY-MM-DD")] = None,
    json_out: JsonLinesOpt = False,
    json_array: JsonArrayOpt = False,
    details: Annotated[bool, typer.Option("--details", "-d", help="List every face of each copy.")] = False,
    event: EventOpt = None,
    register: RegisterOpt = None,
    config: ConfigOpt = None,
    lang: LangOpt = None,
) -> None:
    """Write publishable copies: faces without consent for the channel hidden, metadata removed.

    Each copy is checked again; only copies that come out allowed are written. The originals are never changed.
    Exit code: 0 every copy allowed, 1 some still need consent, 3 some still blocked, 4 errors, 2 usage error.
    """
    from ..redact import STYLES

    if style not in STYLES:
        raise typer.BadParameter(f"expected one of {', '.join(STYLES)}, found {style!r}", param_hint="--style")
    event = event_or_fail(event)
    lang, channel, day, gate = open_gate(ctx, lang, channel, on, register, config)
    targets = collect_targets(paths, lang)
    worst = Decision.ALLOWED if targets else Decision.ERROR
    stream = JsonStream(lines=json_out, array=json_array)
    with gate:
        for t in targets:
            if t.error:
                result, saved = Failure(t.path, t.error), None
            else:
                result, saved = _one(gate, t.path, out, channel=channel, style=style, on=day, event=event)
            worst = worse(worst, result.decision)
            if stream.on:
                worded = (report(result) if isinstance(result, Failure)
                          else result.to_dict(lambda v: verdict_json(v, lang)))
                stream.emit({**worded, "output": str(saved) if saved else None})
            else:
                _print(result, saved, lang, details)
    stream.close()
    if not targets:
        say_no_photos(lang)
    raise typer.Exit(EXIT_FOR[worst])
