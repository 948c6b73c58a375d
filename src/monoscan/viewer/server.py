"""``monoscan view``: a small local web server over one results folder.

Routes (everything else is a 404):

``/``
    the index of results (:func:`monoscan.viewer.page.index_page`);
``/<name>/``
    the page of result ``<name>`` (a direct sub-folder holding ``result.json``, or
    ``scene.json``/``batch.json``: :data:`monoscan.viewer.page.KINDS`); a result with problems
    still gets its page, listing them;
``/<name>/scene.glb``
    the merged 3D scene of that result (made on request, never written to disk);
``/<name>/<file>``
    a plain file directly inside that result folder;
``/-/static/<file>``
    the vendored JavaScript.

Only files inside the results folder are served: a request path is percent-decoded once, and
any ``..`` or ``.``-prefixed segment, backslash, NUL, absolute or nested path is refused, and
the file's real path (symbolic links resolved) must still lie inside its result folder, so
links pointing out are refused too. Refusals are plain 404s that reveal nothing. Binds to
127.0.0.1 unless told otherwise.

Against DNS rebinding (a page on another site whose name is made to resolve to 127.0.0.1, so
the browser lets it read the replies), only requests whose ``Host`` header names
``localhost``, ``127.0.0.1``, ``[::1]`` or the exact host the server was bound to (any port)
are answered; any other ``Host``, or none, gets a 403 with a one-line text body. An error
while answering is a 500 with a one-line body, never an empty reply.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import re
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from monoscan.core.errors import InputError

__all__ = ["allowed_hosts", "host_allowed", "make_server", "resolve_file", "serve_in_thread"]

_log = logging.getLogger(__name__)
#: ``Host`` header values always accepted (with any port): this machine's loopback names.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_HOST_HEADER = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\[\]:/\s@]+)(?::([0-9]{1,5}))?")

_TYPES = {
    ".glb": "model/gltf-binary",
    ".js": "text/javascript",
    ".json": "application/json",
    ".npy": "application/octet-stream",
    ".obj": "text/plain",
    ".mtl": "text/plain",
    ".ply": "application/octet-stream",
    ".html": "text/html; charset=utf-8",
}


def _segments(url_path: str) -> list[str] | None:
    """Decoded path segments of a request, or None when the path is not acceptable."""
    path = unquote(urlsplit(url_path).path, errors="strict")
    if "\\" in path or "\x00" in path or not path.startswith("/") or path.startswith("//"):
        return None
    segs = path.split("/")[1:]
    # Allow a trailing slash (empty last segment) only.
    if any(s == "" for s in segs[:-1]):
        return None
    if any(s.startswith(".") for s in segs if s):
        return None
    return segs


def resolve_file(root: Path, name: str, filename: str) -> Path | None:
    """``root/name/filename`` if it is a regular file really inside ``root/name``, else None."""
    folder = root / name
    if folder.is_symlink() or not folder.is_dir():
        return None
    candidate = folder / filename
    try:
        real = candidate.resolve(strict=True)
        base = folder.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if real.parent != base or not real.is_file():
        return None
    return real


def allowed_hosts(bound_host: str) -> frozenset[str]:
    """Host names (lower case, IPv6 in brackets) a server bound to ``bound_host`` answers."""
    host = bound_host.strip().lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return frozenset({*LOOPBACK_HOSTS, host} - {"", "[]"})


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    """True when a request's ``Host`` header (``name`` or ``name:port``) names one of
    ``allowed`` (:func:`allowed_hosts`); a missing or malformed header is refused."""
    if not header:
        return False
    match = _HOST_HEADER.fullmatch(header.strip())
    return bool(match) and match.group(1).lower() in allowed


def _handler(root: Path, bound_host: str):
    from monoscan.viewer.page import STATIC_DIR, folder_scene, index_page, is_viewable, result_page

    allowed = allowed_hosts(bound_host)

    class Handler(BaseHTTPRequestHandler):
        server_version = "monoscan-view"
        sys_version = ""

        def log_message(self, fmt, *args):  # quiet; the CLI prints the URL once
            pass

        def _send(self, body: bytes, ctype: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _not_found(self) -> None:
            self._send(b"not found\n", "text/plain; charset=utf-8", HTTPStatus.NOT_FOUND)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            if not host_allowed(self.headers.get("Host"), allowed):
                return self._send(
                    b"forbidden: this server answers only requests for localhost\n",
                    "text/plain; charset=utf-8",
                    HTTPStatus.FORBIDDEN,
                )
            try:
                return self._route()
            except (BrokenPipeError, ConnectionResetError):  # the client went away
                return None
            except Exception:  # noqa: BLE001  a short 500, never an empty reply
                _log.warning("%s: error while answering", self.path, exc_info=True)
                with contextlib.suppress(OSError):  # the client may be gone already
                    self._send(
                        b"internal error\n",
                        "text/plain; charset=utf-8",
                        HTTPStatus.INTERNAL_SERVER_ERROR,
                    )
                return None

        def _route(self) -> None:
            try:
                segs = _segments(self.path)
            except UnicodeDecodeError:
                segs = None
            if segs is None:
                return self._not_found()
            if segs == [""]:
                return self._send(
                    index_page(root).encode("utf-8", "replace"), "text/html; charset=utf-8"
                )
            if len(segs) == 3 and segs[:2] == ["-", "static"] and segs[2]:
                path = STATIC_DIR / segs[2]
                if segs[2] in {p.name for p in STATIC_DIR.iterdir()} and path.is_file():
                    return self._send(path.read_bytes(), _ctype(path))
                return self._not_found()
            if len(segs) == 1:  # /<name> -> /<name>/
                if is_viewable(root / segs[0]):
                    self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                    self.send_header("Location", f"/{quote(segs[0], safe='')}/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._not_found()
            if len(segs) != 2:
                return self._not_found()
            name, filename = segs
            folder = root / name
            if not is_viewable(folder):
                return self._not_found()
            if filename == "":
                return self._send(
                    result_page(folder, inline=False).encode("utf-8", "replace"),
                    "text/html; charset=utf-8",
                )
            if filename == "scene.glb":
                glb = folder_scene(folder)
                return self._not_found() if glb is None else self._send(glb, _TYPES[".glb"])
            path = resolve_file(root, name, filename)
            if path is None:
                return self._not_found()
            return self._send(path.read_bytes(), _ctype(path))

    return Handler


def _ctype(path: Path) -> str:
    return (
        _TYPES.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )


def make_server(
    root: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000
) -> ThreadingHTTPServer:
    """A server for the results folder ``root`` (not yet serving; call ``serve_forever``).

    ``port=0`` picks a free port (``server.server_address[1]``).
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
    try:
        server = server_class((host, port), _handler(root, host))
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.daemon_threads = True
    return server


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve_in_thread(
    root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0
) -> tuple[ThreadingHTTPServer, str]:
    """Start a server in a daemon thread; return it and its base URL (``shutdown()`` stops)."""
    server = make_server(root, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    h, p = server.server_address[:2]
    return server, f"http://{f'[{h}]' if ':' in h else h}:{p}/"
