"""Every option of every pumpsync command says what it does and, where it has
one, its default: a nurse reads --help, not the source."""

from __future__ import annotations

import argparse

from pumpsync.cli import build_parser


def _commands(parser: argparse.ArgumentParser, path=("pumpsync",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, path + (name,))


def _options_without_help():
    missing = []
    seen = set()
    for path, parser in _commands(build_parser()):
        if id(parser) in seen:
            continue
        seen.add(id(parser))
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            name = "/".join(action.option_strings) or action.dest
            text = action.help or ""
            if not text or text == argparse.SUPPRESS:
                missing.append(f"{' '.join(path)} {name}: no help text")
                continue
            takes_value = action.nargs != 0 and action.option_strings
            if takes_value and not action.required and "default" not in text and "required" not in text:
                missing.append(f"{' '.join(path)} {name}: help does not give the default")
    return missing


def test_every_option_of_every_command_has_help_text_and_its_default():
    commands = {" ".join(path) for path, _ in _commands(build_parser())}
    assert {"pumpsync sync", "pumpsync keys revoke", "pumpsync log", "pumpsync emulate"} <= commands
    assert _options_without_help() == []
