"""``monoscan data``: dataset utilities (fast, verified H3DS extraction)."""

from __future__ import annotations

import re
from pathlib import Path

from monoscan.core.errors import InputError


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "data",
        parents=[common],
        help="dataset utilities",
        description="Dataset utilities: 'monoscan data h3ds-extract' unpacks the H3DS archive.",
    )
    sub = p.add_subparsers(
        title="actions", dest="data_command", metavar="ACTION", help="the utility to run:"
    )
    sub.required = True
    x = sub.add_parser(
        "h3ds-extract",
        parents=[common],
        help="extract the password-protected H3DS zip fast, verified",
        description="Extract the H3DS archive (ZipCrypto) with many members decrypted in "
        "lockstep; every file is CRC-checked; with --config the archive MD5 and the scene file "
        "list are verified too.",
    )
    x.add_argument("zip", type=Path, metavar="ZIP", help="the downloaded H3DS zip")
    x.add_argument("--token", required=True, help="the H3DS access token (zip password)")
    x.add_argument(
        "-o", "--out", required=True, type=Path, metavar="DIR", help="dataset folder to create"
    )
    x.add_argument(
        "--config",
        default=None,
        help="v1, v2 or a config TOML: check the archive MD5 and the file list",
    )
    x.add_argument("--md5", default=None, help="expected MD5 of the archive")
    x.add_argument(
        "--engine",
        default="auto",
        choices=["auto", "numpy", "python"],
        help="decryption engine (default auto)",
    )
    x.set_defaults(func=run_extract)


def run_extract(args) -> int:
    from monoscan.io.zipcrypto import extract_zip

    md5 = args.md5
    config = None
    if args.config is not None:
        from monoscan.datasets.h3ds import find_config, load_config

        config = load_config(find_config(str(args.config), args.out if args.out.is_dir() else None))
        if md5 is None and config.file_md5 and re.fullmatch(r"[0-9a-fA-F]{32}", config.file_md5):
            md5 = config.file_md5
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        size = args.zip.stat().st_size if args.zip.is_file() else None
        bar = tqdm(total=size, unit="B", unit_scale=True, desc="h3ds-extract", leave=False)
    try:
        report = extract_zip(
            args.zip,
            args.out,
            args.token,
            md5=md5,
            engine=args.engine,
            progress=bar.update if bar else None,
        )
    finally:
        if bar:
            bar.close()
    mb = report.bytes_in / 1e6
    print(
        f"extracted {report.files} files ({report.bytes_out / 1e6:.1f} MB) in "
        f"{report.seconds:.1f} s, {mb / max(report.seconds, 1e-9):.1f} MB/s "
        f"[{report.engine}]; all CRC-32 checks passed" + (f", MD5 {md5} ok" if md5 else "")
    )
    if config is not None:
        from monoscan.datasets.h3ds import H3DS

        ds = H3DS(args.out, config.source)
        missing = ds.missing_files()
        if missing:
            raise InputError(
                f"{len(missing)} file(s) of the config are missing after extraction, e.g. "
                f"{missing[0]}"
            )
        version = ds.version()
        if version != config.version:
            raise InputError(f"version.txt says {version!r}, config expects {config.version!r}")
        print(f"all {len(ds.files())} files listed by the config are present (H3DS v{version})")
    return 0
