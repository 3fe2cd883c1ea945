"""`imagegate watch INBOX --out DIR`: sort photos dropped into a folder, as a long-running service."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from ..codes import Decision
from ..runs.batch import PHOTO_TIMEOUT_SECONDS
from ..words import messages
from .common import (
    ConfigOpt,
    EventOpt,
    LangOpt,
    RegisterOpt,
    channel_option,
    channel_or_fail,
    chosen_lang,
    config_file,
    event_or_fail,
    for_terminal,
    heading_width,
    note_settings,
    print_heading,
    register_location,
    reported,
    require_register,
    say_review_notice,
)

TEXTS = {
    "start": {
        "en": "imagegate watch: inbox {inbox} -> out {out}; channel {channel}; register {register}; "
              "config {config}; jobs {jobs}; observer {observer}; event {event}",
        "fi": "imagegate watch: saapuvat {inbox} -> tulokset {out}; kanava {channel}; rekisteri {register}; "
              "asetukset {config}; rinnakkaisia {jobs}; seuranta {observer}; tilaisuus {event}",
    },
    "none": {"en": "(default)", "fi": "(oletus)"},
    "source_option": {"en": "--register", "fi": "--register"},
    "source_environment": {"en": "from IMAGEGATE_REGISTER", "fi": "IMAGEGATE_REGISTER-muuttujasta"},
    "source_default": {"en": "per-user default", "fi": "käyttäjän oletus"},
    "recovered": {"en": "recovered after a crash", "fi": "palautettu kaatumisen jälkeen"},
    "rolled_back": {"en": "{name}: changed while imagegate was stopped; it will be checked again",
                    "fi": "{name}: kuva muuttui, kun imagegate oli pysähdyksissä; se tarkistetaan uudelleen"},
    "changed": {"en": "{name}: changed after it was checked; it will be checked again",
                "fi": "{name}: kuva muuttui tarkistuksen jälkeen; se tarkistetaan uudelleen"},
    "recheck": {"en": "{name}: its sorting was cut short by a stop; it will be checked again",
                "fi": "{name}: lajittelu keskeytyi pysähdykseen; se tarkistetaan uudelleen"},
    "lost": {"en": "{name}: vanished from the inbox before it could be sorted",
             "fi": "{name}: katosi saapuvien kansiosta ennen lajittelua"},
    "wrote_report": {"en": "report: {path}", "fi": "raportti: {path}"},
    "wrote_preview": {"en": "preview: {path}", "fi": "esikatselukuva: {path}"},
    "wrote_redacted": {"en": "publishable copy: {path}", "fi": "julkaistava kopio: {path}"},
    "stopped": {"en": "stopped: {counts}", "fi": "pysähtyi: {counts}"},
}


def _text(key: str, lang: str, **params) -> str:
    return messages.fill(TEXTS[key][lang], lang, **params)


def _printer(lang: str, notice=lambda: None):
    from ..runs.journal import Outcome

    def show(outcome: Outcome) -> None:
        notice()
        if outcome.action != "sorted":
            typer.secho(_text(outcome.action, lang, name=for_terminal(outcome.name)), err=True,
                        fg=typer.colors.YELLOW)
            return
        extra = f" ({_text('recovered', lang)})" if outcome.recovered else ""
        why = f": {outcome.reason}" if outcome.reason and outcome.decision == Decision.ERROR else ""
        print_heading(outcome.decision, for_terminal(f"{outcome.name} -> {outcome.destination}{extra}{why}"), lang)
        for key in ("report", "preview", "redacted"):
            if getattr(outcome, key):
                typer.echo(" " * heading_width(lang)
                           + _text("wrote_" + key, lang, path=for_terminal(getattr(outcome, key))))

    return show


def _review_notice(reg, months: int, lang: str):
    """The once-a-day review notice for a service that runs for weeks: looked at when the watcher starts and
    then at most hourly, as photos are sorted."""
    import time

    from ..register.store import Register

    last = [float("-inf")]

    def opened():
        r = Register(reg.path, create=False)
        return r, r.close

    def maybe() -> None:
        if time.monotonic() - last[0] >= 3600 and reg.path.exists():
            last[0] = time.monotonic()
            say_review_notice(opened, months, lang)

    return maybe


def watch(
    ctx: typer.Context,
    inbox: Annotated[Path, typer.Argument(help="Folder where photos are dropped (not walked recursively).")],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Sorted output: allowed/, needs_consent/, "
                                      "blocked/, rejected/, audit.jsonl. Same filesystem as INBOX for atomic "
                                      "moves.")],
    channel: Annotated[str, channel_option("Where the photos will be posted")] = "facebook",
    polling: Annotated[bool, typer.Option("--polling", help="Poll the inbox instead of using native file "
                                          "events (network shares).")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", metavar="N",
                                             help="Worker processes (default: one per core).",
                                             show_default=False)] = None,
    settle: Annotated[float, typer.Option("--settle", metavar="SECONDS", help="Seconds a file's size and time must "
                                          "stay unchanged before it is read (still being copied "
                                          "otherwise).")] = 1.0,
    rescan: Annotated[float, typer.Option("--rescan", metavar="SECONDS", help="Seconds between full rescans of the "
                                          "inbox (a safety net for missed file events).")] = 5.0,
    redact: Annotated[bool, typer.Option("--redact", help="Also write a publishable copy of each needs-consent "
                                         "photo, faces without consent hidden, into OUT/redacted/.")] = False,
    photo_timeout: Annotated[float, typer.Option(
        "--photo-timeout", metavar="SECONDS", help="Seconds one photo may take before its workers are restarted and "
        "it is retried alone; a photo that stops twice goes to rejected/.")] = PHOTO_TIMEOUT_SECONDS,
    event: EventOpt = None,
    register: RegisterOpt = None,
    config: ConfigOpt = None,
    lang: LangOpt = None,
) -> None:
    """Watch INBOX and sort each photo into --out: allowed, needs_consent, blocked or rejected.

    Runs until stopped (Ctrl-C or SIGTERM, exit 0). Safe to kill: on restart, half-done moves are
    completed, never duplicated. Every decision is appended to OUT/audit.jsonl.
    """
    from ..config import load_settings
    from ..register.store import Register
    from ..runs.watch import Watcher, WatchSettings

    lang = chosen_lang(ctx, lang)
    event = event_or_fail(event)
    channel = channel_or_fail(channel)
    config = config_file(ctx, config)
    reg = register_location(ctx, register)
    with reported():
        settings = load_settings(config)
        note_settings(settings, config)
        require_register(reg)
        if reg.named:
            Register(reg.path, create=False).close()  # fail now, not once per photo in the workers
        kwargs = {} if jobs is None else {"jobs": jobs}
        watcher = Watcher(inbox, out, channel=channel, settings=settings, register=reg, lang=lang, config=config,
                          watch=WatchSettings(settle_seconds=settle, rescan_seconds=rescan, polling=polling,
                                              redact=redact, photo_timeout_seconds=photo_timeout, **kwargs),
                          on_outcome=_printer(lang, notice := _review_notice(reg, settings.review_months, lang)),
                          event=event)
        info = watcher.start()

    def on_signal(signum, frame) -> None:
        watcher.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    none = _text("none", lang)
    typer.echo(for_terminal(_text("start", lang, inbox=info.inbox, out=info.out, channel=info.channel,
                                  register=f"{info.register} ({_text('source_' + info.register_source, lang)})",
                                  config=info.config or none, jobs=info.jobs, observer=info.observer,
                                  event=info.event)))
    notice()
    with reported():
        watcher.run()
    typer.echo(_text("stopped", lang, counts=messages.counts_text(watcher.counts, lang, error_key="count_rejected")))
    raise typer.Exit(0)
