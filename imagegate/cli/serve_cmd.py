"""`imagegate serve`: the local web page (see imagegate/web/app.py)."""

from __future__ import annotations

import webbrowser
from typing import Annotated

import typer

from .common import (
    ConfigOpt,
    LangOpt,
    RegisterOpt,
    channel_or_fail,
    chosen_lang,
    config_file,
    event_or_fail,
    note_settings,
    register_location,
    reported,
    require_register,
)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(
        "--host", metavar="HOST", help="Address to listen on. Anything but 127.0.0.1/localhost needs the access "
                       "token printed at start.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", min=0, max=65535,
                                      help="Port (0: any free port).")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the web browser.")] = False,
    channel: Annotated[str, typer.Option("--channel", "-c", metavar="CHANNEL",
                                         help="The page's preselected channel.")] = "facebook",
    event: Annotated[str | None, typer.Option(
        "--event", metavar="EVENT", help="The page's preselected event context: public, private or unknown "
                        "(default: the settings', else unknown).", show_default=False)] = None,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", metavar="HOST", help="Another name this server is reached by (a Host header it accepts).",
        show_default=False)] = None,
    register: RegisterOpt = None,
    config: ConfigOpt = None,
    lang: LangOpt = None,
) -> None:
    """Start the local web page: drop photos, read verdicts, manage the consent register."""
    import socket

    import uvicorn

    from ..config import load_settings
    from ..web.app import Server
    from ..web.gate_thread import GateThread
    from ..web.guard import needs_token, new_access_token

    lang = chosen_lang(ctx, lang)
    channel = channel_or_fail(channel)
    event = event_or_fail(event)
    # the one resolution every command uses (register.locate_register, cli.common.config_file)
    location = register_location(ctx, register)
    config = config_file(ctx, config)
    with reported():
        settings = load_settings(config)
        note_settings(settings, config)
        require_register(location)
    # bind first: a busy port is said at once, before the models load, and --port 0 learns its port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise typer.BadParameter(f"cannot listen on {host}:{port}: {exc.strerror or exc}", param_hint="--port") \
            from None
    sock.listen(128)  # a browser opened by --open waits in the backlog until the server accepts
    port = sock.getsockname()[1]
    token = new_access_token() if needs_token(host) else None
    typer.echo("imagegate serve: loading the models…", err=True)
    gates = GateThread(settings, location)
    with reported():
        gates.start()
    server = Server(gates, lang=lang, channel=channel, event=event, host=host, port=port, token=token,
                    allow_hosts=tuple(allow_host or ()))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    typer.echo(f"imagegate serve: {url}  (register {location}; Ctrl-C stops)")
    if host in ("0.0.0.0", "::"):
        typer.echo(f"from other computers: http://{socket.gethostname()}:{port}/")
    if token:
        typer.echo(f"access token (the page asks for it once): {token}")
    if open_browser:
        webbrowser.open(url)
    try:
        uvicorn.Server(uvicorn.Config(server.app, log_level="warning", access_log=False, lifespan="off")).run(
            sockets=[sock])
    finally:
        gates.close()
