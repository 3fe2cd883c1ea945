"""`imagegate audit verify FILE`: check that nobody edited, removed or inserted audit lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import EXIT_ERROR, JsonOpt, chosen_lang, for_terminal, printable, reported

app = typer.Typer(help="Inspect the watcher's tamper-evident audit log.", no_args_is_help=True,
                  rich_markup_mode=None)  # plain help: flags without a `<bool>` value

TEXTS = {
    "ok": {"en": "{path}: chain intact, {n} entries", "fi": "{path}: ketju eheä, {n} merkintää"},
    "broken": {"en": "{path}: broken at line {line}: {problem}", "fi": "{path}: rikki rivillä {line}: {problem}"},
}


@app.command("verify")
def verify(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="An audit.jsonl written by `imagegate watch`.")],
    json_out: JsonOpt = False,
) -> None:
    """Verify the hash chain. Exit 0 when intact, 4 when broken (the first broken line is printed)."""
    from ..register import audit

    with reported():
        result = audit.verify(path)
    if json_out:
        typer.echo(printable(json.dumps(result.to_dict(), ensure_ascii=False)))
    else:
        lang = chosen_lang(ctx, None)
        if result.ok:
            typer.echo(for_terminal(TEXTS["ok"][lang].format(path=path, n=result.entries)))
        else:
            # the problem quotes the damaged line's content: escaped like the path
            typer.secho(for_terminal(TEXTS["broken"][lang].format(path=path, line=result.broken_line,
                                                                  problem=result.problem)), fg=typer.colors.RED)
    raise typer.Exit(0 if result.ok else EXIT_ERROR)
