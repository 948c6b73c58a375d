"""``monoscan view DIR [--port P] [--host H]`` and ``monoscan view DIR --write-reports``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monoscan.core.errors import InputError
from monoscan.io.results import REPORT_HTML


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "view",
        parents=[common],
        help="browse results in a local web page",
        description="Serve a results folder (from reconstruct or batch) as a web page with a "
        "3D view of each result. Only that folder is served, on 127.0.0.1 by default.",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="results folder")
    p.add_argument(
        "--port", type=int, default=8000, metavar="P", help="port (default 8000; 0 = any free)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="H",
        help="address to bind (default 127.0.0.1, this machine only); only requests naming "
        "localhost, 127.0.0.1, [::1] or this exact host are answered",
    )
    p.add_argument(
        "--write-reports",
        action="store_true",
        help="write a self-contained report.html into each result and exit (one "
        "'error: PATH: ...' line for each that cannot be written; exit 2 if any)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from monoscan.viewer.page import KINDS
    from monoscan.viewer.report import write_reports
    from monoscan.viewer.server import make_server

    one = [doc for doc, kind in KINDS if kind != "batch" and (Path(args.dir) / doc).is_file()]
    if one:
        raise InputError(
            f"{args.dir} is one result ({one[0]}); give the folder that holds the results "
            f"({Path(args.dir).parent}), or open {Path(args.dir) / REPORT_HTML}"
        )
    if args.write_reports:
        errors: list[tuple[Path, str]] = []
        for path in write_reports(args.dir, errors):
            print(path, flush=True)
        for folder, reason in errors:
            print(f"error: {folder}: {reason}", file=sys.stderr)
        return 2 if errors else 0
    server = make_server(args.dir, args.host, args.port)
    host, port = server.server_address[:2]
    host = f"[{host}]" if ":" in host else host
    print(f"serving {Path(args.dir).resolve()} at http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # the normal way to stop a server
        print("stopped", flush=True)
    finally:
        server.server_close()
    return 0
