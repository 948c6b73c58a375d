"""``monoscan view``: a small local web server over one results folder.

Routes (everything else is a 404):

``/``
    the index of results (:func:`monoscan.viewer.page.index_page`);
``/<name>/``
    the page of result ``<name>`` (a direct sub-folder holding ``result.json``);
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
"""

from __future__ import annotations

import mimetypes
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from monoscan.core.errors import InputError

__all__ = ["make_server", "resolve_file", "serve_in_thread"]

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


def _handler(root: Path):
    from monoscan.io.results import load_result
    from monoscan.viewer.page import STATIC_DIR, index_page, result_page
    from monoscan.viewer.scene import scene_glb

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
            try:
                segs = _segments(self.path)
            except UnicodeDecodeError:
                segs = None
            if segs is None:
                return self._not_found()
            if segs == [""]:
                return self._send(index_page(root).encode(), "text/html; charset=utf-8")
            if len(segs) == 3 and segs[:2] == ["-", "static"] and segs[2]:
                path = STATIC_DIR / segs[2]
                if segs[2] in {p.name for p in STATIC_DIR.iterdir()} and path.is_file():
                    return self._send(path.read_bytes(), _ctype(path))
                return self._not_found()
            if len(segs) == 1:  # /<name> -> /<name>/
                if load_result(root / segs[0]) is not None and not (root / segs[0]).is_symlink():
                    self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                    self.send_header("Location", f"/{segs[0]}/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._not_found()
            if len(segs) != 2:
                return self._not_found()
            name, filename = segs
            folder = root / name
            if folder.is_symlink() or load_result(folder) is None:
                return self._not_found()
            if filename == "":
                return self._send(
                    result_page(folder, inline=False).encode(), "text/html; charset=utf-8"
                )
            if filename == "scene.glb":
                glb = scene_glb(folder)
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
    try:
        server = ThreadingHTTPServer((host, port), _handler(root))
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.daemon_threads = True
    return server


def serve_in_thread(
    root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0
) -> tuple[ThreadingHTTPServer, str]:
    """Start a server in a daemon thread; return it and its base URL (``shutdown()`` stops)."""
    server = make_server(root, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}/"
