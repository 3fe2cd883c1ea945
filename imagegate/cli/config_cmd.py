"""`imagegate config ...`: show the effective settings."""

from __future__ import annotations

import json

import typer

from ..config import load_settings, settings_sources, to_toml, user_config_path
from .common import ConfigOpt, JsonOpt, RegisterOpt, config_file, for_terminal, register_location, reported

app = typer.Typer(help="Show settings.", no_args_is_help=True,
                  rich_markup_mode=None)  # plain help: flags without a `<bool>` value
SOURCES = {"option": "--register", "environment": "IMAGEGATE_REGISTER", "default": "the per-user default"}


@app.command("show")
def show(ctx: typer.Context, json_out: JsonOpt = False, config: ConfigOpt = None,
         register: RegisterOpt = None) -> None:
    """Print the effective settings (defaults, then the per-user file, then --config) and which register
    the other commands would use."""
    path = config_file(ctx, config)
    reg = register_location(ctx, register)
    with reported():
        settings = load_settings(path)
    if json_out:
        typer.echo(json.dumps(settings.to_dict(), indent=2))
        return
    sources = settings_sources(path)
    typer.echo(for_terminal(f"# per-user config file: {user_config_path()}"))
    typer.echo(for_terminal(f"# read from: {', '.join(sources) if sources else 'defaults only'}"))
    typer.echo(for_terminal(f"# register: {reg.path} (from {SOURCES[reg.source]})"))
    typer.echo(to_toml(settings), nl=False)
