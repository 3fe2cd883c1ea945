"""`imagegate faces`: every face found, with its size and identifiability (a diagnostic view)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import ImagegateError
from ..words import messages
from .common import (
    EXIT_ERROR,
    ConfigOpt,
    JsonArrayOpt,
    JsonLinesOpt,
    JsonStream,
    LangOpt,
    channel_option,
    channel_or_fail,
    chosen_lang,
    collect_targets,
    config_file,
    display_path,
    printable,
    reported,
    say_no_photos,
)


def faces(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="Photos and folders (walked recursively).")],
    json_out: JsonLinesOpt = False,
    json_array: JsonArrayOpt = False,
    channel: Annotated[str | None, channel_option(
        "Judge identifiability at the size this channel shows photos at (default: publish_long_side)",
        default=None)] = None,
    config: ConfigOpt = None,
    lang: LangOpt = None,
) -> None:
    """List the faces found in each photo, with size and identifiability (diagnostic)."""
    from ..config import load_settings
    from ..gate import Gate

    lang = chosen_lang(ctx, lang)
    channel = channel_or_fail(channel) if channel else None
    with reported():
        settings = load_settings(config_file(ctx, config))
    targets = collect_targets(paths, lang)
    out, errors = JsonStream(lines=json_out, array=json_array), 0
    with Gate(settings=settings) as gate:
        for t in targets:
            try:
                if t.error:
                    raise t.error
                a = gate.analyse(t.path, channel=channel)
            except ImagegateError as exc:
                errors += 1
                if out.on:
                    out.emit({"file": t.path, "error": exc.to_dict(), "faces": []})
                else:
                    # the line already starts with the file: say only what is wrong with it
                    what, hint = messages.error_reason(exc, lang)
                    hint = f" ({hint})" if hint else ""
                    typer.secho(printable(f"{display_path(t.path)}: {messages.ui('error_line', lang)}: {what}{hint}"),
                                fg=typer.colors.MAGENTA)
                continue
            if out.on:
                out.emit({**a.to_dict(), "file": t.path})
                continue
            n_id = sum(m.identifiable for m in a.measurements)
            summary = messages.ui("faces_summary", lang, n=len(a.faces), identifiable=n_id)
            typer.secho(printable(f"{display_path(t.path)}  {a.image.width}x{a.image.height}  {summary}"), bold=True)
            if a.faces:
                cx, cy, cw, ch, cpub, cscore, cid = messages.FACES_COLUMNS[lang]
                typer.echo(f"    {'#':>3} {cx:>6} {cy:>6} {cw:>5} {ch:>5} {cpub:>10} {cscore:>7}  {cid}")
            for i, (f, m) in enumerate(zip(a.faces, a.measurements, strict=False)):
                x, y, w, h = f.box
                typer.echo(f"    {i + 1:>3} {x:6.0f} {y:6.0f} {w:5.0f} {h:5.0f} {m.publish_height_px:10.0f} "
                           f"{f.score:7.2f}  {messages.ui('yes' if m.identifiable else 'no', lang)}")
    out.close()
    if not targets:
        say_no_photos(lang)
    raise typer.Exit(EXIT_ERROR if errors or not targets else 0)
