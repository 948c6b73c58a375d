"""``monoscan --help`` as a new user reads it: every command and option explains itself, and
the output option is spelled ``-o/--out DIR`` everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from monoscan.cli import build_parser


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """Every parser of the tree: (command path, parser, its line in the parent's listing)."""
    yield path, parser, None
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            lines = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                for sub_path, sub, line in _commands(child, (*path, name)):
                    yield sub_path, sub, lines.get(name) if sub is child else line


COMMANDS = list(_commands(build_parser()))
NAMES = [" ".join(path) or "monoscan" for path, _, _ in COMMANDS]


def test_every_command_and_option_has_help():
    assert {"eval head", "eval body", "synth scenes", "synth body", "data h3ds-extract"} <= set(
        NAMES
    )  # the walk reaches nested commands
    gaps = []
    for name, (path, parser, line) in zip(NAMES, COMMANDS, strict=True):
        if not (parser.description and parser.description.strip()):
            gaps.append(f"{name}: no description")
        if path and not (line and line.strip()):
            gaps.append(f"{name}: no line in the parent command's listing")
        gaps += [
            f"{name}: no help for {'/'.join(a.option_strings) or a.metavar or a.dest}"
            for a in parser._actions
            if not isinstance(a, argparse._HelpAction) and not (a.help and a.help.strip())
        ]
        parser.format_help()  # a bad %-format in any help text raises here
    assert not gaps, "\n".join(gaps)


def test_synth_description_is_plain_text():
    synth = dict(zip(NAMES, (p for _, p, _ in COMMANDS), strict=True))["synth"]
    text = synth.format_help()
    assert "``" not in text and ":func:" not in text
    assert "  monoscan synth scenes --n N --seed S -o DIR\n" in text  # the layout is kept


# The commands that write output, with their other required arguments.
OUTPUT_COMMANDS = {
    "reconstruct": ["reconstruct", "a.jpg"],
    "demo": ["demo"],
    "hairstep": ["hairstep", "a.jpg"],
    "segment-hair": ["segment-hair", "a.jpg"],
    "body": ["body", "a.jpg"],
    "batch": ["batch", "photos"],
    "render": ["render", "result"],
    "data h3ds-extract": ["data", "h3ds-extract", "h3ds.zip", "--token", "t"],
    "synth": ["synth"],
    "synth scenes": ["synth", "scenes"],
    "synth body": ["synth", "body", "--scans", "scans"],
}


def _out_action(parser: argparse.ArgumentParser) -> argparse.Action | None:
    return next((a for a in parser._actions if "--out" in a.option_strings), None)


def test_output_option_is_o_out_dir_everywhere():
    parsers = dict(zip(NAMES, (p for _, p, _ in COMMANDS), strict=True))
    assert {name for name, p in parsers.items() if _out_action(p)} == set(OUTPUT_COMMANDS)
    for name, argv in OUTPUT_COMMANDS.items():
        parser = parsers[name]
        action = _out_action(parser)
        assert action.option_strings == ["-o", "--out"], name
        # render writes one PNG, or a folder with --turntable: its metavar says so.
        metavar = "FILE_OR_DIR" if name == "render" else "DIR"
        assert action.metavar == metavar, name
        assert f"-o {metavar}, --out {metavar}" in parser.format_help(), name
        short = build_parser().parse_args([*argv, "-o", "results"])
        long = build_parser().parse_args([*argv, "--out", "results"])
        assert str(long.out) == "results" and vars(short) == vars(long), name
