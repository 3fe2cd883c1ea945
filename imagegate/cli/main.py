"""The `imagegate` command line (Typer). The library never prints; this module translates."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..vision import quiet  # noqa: F401  (quiet native logs before mediapipe loads)
from . import audit_cmd, check_cmd, config_cmd, faces_cmd, redact_cmd, register_cmd, serve_cmd, watch_cmd
from .common import CONFIG_HELP, EXIT_ERROR, RegisterOpt, State

app = typer.Typer(
    help="imagegate: check photos for identifiable people and consent before posting on social media.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never show locals (photo pixels, embeddings) in tracebacks
    pretty_exceptions_show_locals=False,
    add_completion=False,
    # click's plain help: the rich panels show plain flags as `--json <bool>`, as if they took a value
    rich_markup_mode=None,
)
app.command("check")(check_cmd.check)
app.command("faces")(faces_cmd.faces)
app.command("redact")(redact_cmd.redact)
app.add_typer(register_cmd.app, name="register")
app.add_typer(config_cmd.app, name="config")
app.command("watch")(watch_cmd.watch)
app.add_typer(audit_cmd.app, name="audit")
app.command("serve")(serve_cmd.serve)


def _version(value: bool) -> None:
    if value:
        from ..gate import _package_version

        typer.echo(f"imagegate {_package_version()}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    register: RegisterOpt = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help=CONFIG_HELP, show_default=False, metavar="FILE")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="fi or en (default: locale).",
                                                show_default=False, metavar="fi|en")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    ctx.obj = State(register=register, config=config, lang=lang)


def run() -> None:
    """Console-script entry point: no tracebacks for users, a clear message and exit 4 instead."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last resort; details stay out of the terminal
        from ..errors import internal_error

        typer.secho(f"imagegate: {internal_error(exc, 'running the command')}", err=True, fg=typer.colors.RED)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    run()
