"""`imagegate check`: the command people drop photos on."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from ..codes import OUTCOMES, Decision
from ..image.metadata import exists_error
from ..image.paths import Target, collect, parse_dropped
from ..runs.batch import PHOTO_TIMEOUT_SECONDS, Checked
from ..words import messages
from ..words.report import report as report_of
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
    for_terminal,
    open_gate,
    print_human,
    reported,
    say_no_photos,
    say_review_notice,
    stderr_is_tty,
    worse,
)

PROMPT = {"en": "Drop photos or folders here and press Enter (q to quit): ",
          "fi": "Pudota kuvia tai kansioita tähän ja paina Enter (q lopettaa): "}


def run_checks(batch, targets: list[Target], job, *, progress: bool) -> Iterable[Checked]:
    """Results in input order, with a progress bar on stderr for long batches."""
    results = batch.run(targets, job)
    if not progress or len(targets) < 2:
        for checked in results:
            yield checked
        return
    with typer.progressbar(length=len(targets), label=messages.ui("progress_checking", job.lang), file=sys.stderr,
                           show_pos=True) as bar:
        for checked in results:
            bar.update(1)
            yield checked


def check(
    ctx: typer.Context,
    paths: Annotated[list[str] | None, typer.Argument(
        help="Photos and folders (walked recursively). Pasted/dropped paths, quotes and file:// URIs are fine. "
             "With none, an interactive drop prompt opens.", show_default=False)] = None,
    channel: Annotated[str, channel_option("Where the photos will be posted")] = "facebook",
    json_out: JsonLinesOpt = False,
    json_array: JsonArrayOpt = False,
    annotate: Annotated[Path | None, typer.Option(
        "--annotate", help="Write a preview per photo (faces boxed and coloured) into this folder.",
        show_default=False, metavar="FOLDER")] = None,
    details: Annotated[bool, typer.Option("--details", "-d", help="List every face.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write a review sheet (one self-contained HTML file) of all photos checked.",
        show_default=False, metavar="FILE")] = None,
    on: Annotated[str | None, typer.Option(
        "--on", help="Check consents as of this date, e.g. a scheduled post's date.",
        show_default=False, metavar="YYYY-MM-DD")] = None,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=0, metavar="N", help="Worker processes for many photos (0 = one per CPU core).")] = 0,
    photo_timeout: Annotated[float, typer.Option(
        "--photo-timeout", min=1, metavar="SECONDS", help="Seconds a worker may spend on one photo before it is "
        "restarted and the photo retried; a photo that takes longer twice is reported as an error.",
    )] = PHOTO_TIMEOUT_SECONDS,
    event: EventOpt = None,
    register: RegisterOpt = None,
    config: ConfigOpt = None,
    lang: LangOpt = None,
) -> None:
    """Check photos before posting: allowed, needs consent or blocked (rules 4 and 6).

    Exit code: 0 all allowed, 1 some need consent, 3 some blocked, 4 some could not be checked, 2 usage error.
    """
    if report is not None and os.path.lexists(report):
        # refused before any photo is checked (and the write itself never replaces a file, see write_whole)
        raise typer.BadParameter(for_terminal(str(exists_error(report))), param_hint="--report")
    if annotate is not None and os.path.lexists(annotate) and not annotate.is_dir():
        raise typer.BadParameter(for_terminal(f"expected a folder for the previews, found a file: {annotate}"),
                                 param_hint="--annotate")
    event = event_or_fail(event)
    if not paths and annotate is not None:
        _refuse_photos_as_preview_folder(annotate)
    lang, channel, day, gate = open_gate(ctx, lang, channel, on, register, config)
    say_review_notice(lambda: (gate.register, lambda: None), gate.settings.review_months, lang)
    sheet = _sheet(gate, lang) if report is not None else None
    from ..runs.batch import Batch, Job

    job = Job(channel=channel, on=day, annotate=annotate, thumbnail=sheet is not None, event=event, lang=lang)
    workers = jobs if jobs > 0 else (os.cpu_count() or 1)
    out = JsonStream(lines=json_out, array=json_array)
    with gate, Batch(settings=gate.settings, register=gate.register_location,
                     jobs=workers, gate=gate, photo_timeout=photo_timeout) as batch:
        if paths:
            worst = _check_batch(batch, job, paths, out, details, lang, sheet)
        else:
            worst = _interactive(batch, job, out, details, lang, sheet)
    out.close()
    if sheet is not None:
        with reported():
            written = sheet.write(report)
        # on stderr beside JSON, which owns stdout
        typer.echo(messages.ui("report_written", lang, path=display_path(str(written))), err=json_out or json_array)
    raise typer.Exit(EXIT_FOR[worst])


def _refuse_photos_as_preview_folder(folder: Path) -> None:
    """`check --annotate photos` meant "check photos, with previews", but takes `photos` as the preview
    folder and opens the drop prompt: a folder of photos given as the only folder is refused."""
    from ..outputs.annotate import PREVIEW_NAME

    if not folder.is_dir():
        return
    for t in collect([folder]):
        if t.error is None and not PREVIEW_NAME.search(t.path):
            raise typer.BadParameter(
                f"expected a folder for the previews, found a folder of photos ({display_path(t.path)}) and no "
                f"photo to check; give the photos after the preview folder: "
                f"imagegate check --annotate PREVIEWS {display_path(str(folder))}", param_hint="--annotate")


def _sheet(gate, lang):
    from ..outputs.sheet import ReviewSheet

    return ReviewSheet(lang, version=gate.versions()["imagegate"])


def _check_batch(batch, job, paths, out: JsonStream, details, lang, sheet=None) -> str:
    """Check and print one batch; its worst outcome."""
    targets = collect_targets(paths, lang)
    counts: dict[str, int] = {k: 0 for k in OUTCOMES}
    worst = Decision.ALLOWED
    for checked in run_checks(batch, targets, job, progress=stderr_is_tty() and len(targets) > 3):
        result = checked.result
        if sheet is not None:
            sheet.add_checked(result, checked.thumbnail)
        counts[result.decision] += 1
        worst = worse(worst, result.decision)
        if out.on:
            preview = str(checked.preview) if checked.preview else None
            out.emit(report_of(result, lang) | ({"preview": preview} if job.annotate else {}))
        else:
            print_human(result, lang, details)
            if checked.preview is not None:
                typer.echo("    " + messages.ui("preview_written", lang, path=display_path(str(checked.preview))))
    if not targets:
        # nothing checked is never "all allowed" (exit 0), with or without --json
        say_no_photos(lang)
        return Decision.ERROR
    if not out.on and len(targets) > 1:
        typer.echo(messages.ui("summary", lang, photos=messages.ui("count_photos", lang, n=len(targets)),
                               counts=messages.counts_text(counts, lang)))
    return worst


def _interactive(batch, job, out: JsonStream, details, lang, sheet=None) -> str:
    worst = None
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = input(PROMPT[lang]) if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not interactive and line == "":
            break
        if line.strip().lower() in ("q", "quit", "exit", "lopeta"):
            break
        paths = parse_dropped(line)
        if not paths:
            continue
        w = _check_batch(batch, job, paths, out, details, lang, sheet)
        worst = w if worst is None else worse(worst, w)
    if worst is None:  # quit, or input ended, before any photo was given: nothing was allowed
        say_no_photos(lang)
        return Decision.ERROR
    return worst
