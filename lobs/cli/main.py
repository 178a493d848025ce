"""The ``lobs`` command: parse, call :mod:`lobs.api`, render. No engine logic here.

User errors (LobsError) print one line and a hint and exit with their code;
anything else is a bug and prints a traceback. ``run()`` executes the CLI
in-process with an injectable environment and working directory (tests).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from lobs import __version__
from lobs.errors import ExitCode, LobsError, from_os_error


class Obj:
    """What every command receives: where it runs and how it reports."""

    def __init__(self, cwd: Path, env: Mapping[str, str]) -> None:
        self.cwd = cwd
        self.env = env
        self.verbose = 0
        self.quiet = False
        self.json = False


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from lobs.scan import ACCELERATED

    walk = "C helper lobs._dirstat" if ACCELERATED else "pure Python (no C compiler at install)"
    click.echo(f"lobs, version {__version__} (directory walk: {walk})")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version (and how folders are walked) and exit.")
@click.option("-v", "--verbose", count=True, help="More output (per-file lines, commands run).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the final summary.")
@click.pass_obj
def cli(obj: Obj, verbose: int, quiet: bool) -> None:
    """Keep plain directories in sync with S3, rclone remotes or a folder."""
    obj.verbose = verbose
    obj.quiet = quiet
    _log_commands(verbose >= 2)


def _log_commands(on: bool) -> None:
    if on or "lobs.cli.command_log" in sys.modules:  # (logging costs start-up time: not imported otherwise)
        from lobs.cli.command_log import log_commands

        log_commands(on)


def _register() -> None:
    from lobs.cli import cmd_archive, cmd_config, cmd_info, cmd_sync, cmd_tui

    for module in (cmd_config, cmd_sync, cmd_info, cmd_tui, cmd_archive):
        for command in module.COMMANDS:
            cli.add_command(command)
    try:
        from lobs.cli import cmd_transports
    except ImportError:
        return
    for command in cmd_transports.COMMANDS:
        cli.add_command(command)


_register()


def report_error(err: LobsError, json_mode: bool) -> None:
    if json_mode:
        print(json.dumps({"error": err.message, "hint": err.hint, "exit_code": int(err.exit_code)}, ensure_ascii=False))
    print(f"lobs: error: {err.message}", file=sys.stderr)
    if err.hint:
        print(f"  hint: {err.hint}", file=sys.stderr)


def run(args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> int:
    """Run the CLI in this process and return its exit code."""
    obj = Obj(cwd or Path.cwd(), dict(os.environ) if env is None else env)
    try:
        cli.main(list(args), prog_name="lobs", standalone_mode=False, obj=obj)
        return 0
    except LobsError as e:
        report_error(e, obj.json)
        return int(e.exit_code)
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.exceptions.Abort:
        print("lobs: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except click.ClickException as e:
        e.show()
        return int(ExitCode.USAGE) if isinstance(e, click.UsageError) else 1
    except KeyboardInterrupt:
        print("lobs: interrupted: every file is either old or new; run the command again to finish", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return 0
    except OSError as e:
        err = from_os_error(e)
        if err is None:
            raise  # not the machine refusing: a bug, with its traceback
        report_error(err, obj.json)
        return int(err.exit_code)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwind like Ctrl-C: staging removed, files old or new


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
