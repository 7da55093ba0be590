"""Start the explorer: a Solara server on localhost, offline (assets from solara-assets)."""

from __future__ import annotations

import os
import socket

APP = "sim.explore.app:Page"


class PortInUse(OSError):
    """The address asked for cannot be listened on (port taken, or no such host)."""


def check_port(host: str, port: int) -> None:
    """Raise PortInUse (one line) unless host:port can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                f"--host {host} --port {port}: cannot listen there ({exc.strerror}); "
                "pick another port, or --port 0 for any free one"
            ) from None


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> None:
    """Serve the explorer until interrupted. Solara's telemetry and version check are off and
    its front-end assets come from the installed solara-assets package, so nothing is
    fetched from the network."""
    if port:
        check_port(host, port)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    from solara.__main__ import cli

    args = ["run", APP, "--host", host, "--port", str(port), "--production"]
    args += ["--no-check-version", "--open" if open_browser else "--no-open"]
    cli.main(args, prog_name="prisonflow explore", standalone_mode=False)
