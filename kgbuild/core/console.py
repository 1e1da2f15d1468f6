"""stderr console, the --debug switch, and the one-red-line treatment of user errors.

The console reads no markup: what we print holds paths, names and messages we did not write ("[model]",
"'.[local-llm]'", "[0.5, 0.5]"), which rich would take for tags and eat. Colour is given with `style=`."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False, markup=False)
out = Console(highlight=False, markup=False)  # results (tables, scores); messages and progress go to `err`
_debug = {"on": os.environ.get("KGBUILD_DEBUG", "") not in ("", "0")}


def set_debug(on: bool) -> None:
    _debug["on"] = _debug["on"] or on


def debug_enabled() -> bool:
    return _debug["on"]


# Inside a CLI command, warnings and notes wait for its end: a run that fails prints its one error line only.
_pending: list[str] | None = None


def warn(message: str) -> None:
    """One yellow line: the run goes on, but the user should know (an option that matched nothing, a missing file)."""
    _say(f"warning: {message}", "yellow")


def note(message: str) -> None:
    _say(message, "dim")


def _say(text: str, style: str) -> None:
    if _pending is None:
        err.print(text, style=style, soft_wrap=True)
    else:
        _pending.append((text, style))


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a CLI command: a UserError becomes one red line on stderr and exit code 1 (traceback with --debug);
    Ctrl-C becomes "interrupted" and exit code 130 (the outputs clean up on their way out)."""
    from kgbuild.core.errors import UserError
    from kgbuild.redact import redact

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _pending
        outer, _pending = _pending, []
        try:
            result = fn(*args, **kwargs)
            for text, style in _pending:
                err.print(text, style=style, soft_wrap=True)
            return result
        except UserError as exc:
            if debug_enabled():
                raise
            err.print(f"error: {redact(str(exc))}", style="red", soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            if debug_enabled():
                raise
            err.print("interrupted", style="red", soft_wrap=True)
            raise typer.Exit(code=130) from None
        except Exception as exc:  # an unexpected failure: short message, traceback only with --debug
            if debug_enabled():
                raise
            # duckdb's forms of a Ctrl-C during a query: its own exception, or a RuntimeError from a reader
            if type(exc).__name__ == "InterruptException" or (
                isinstance(exc, RuntimeError) and "Query interrupted" in str(exc)
            ):
                err.print("interrupted", style="red", soft_wrap=True)
                raise typer.Exit(code=130) from None
            err.print(
                f"internal error: {type(exc).__name__}: {redact(str(exc).splitlines()[0]) if str(exc) else ''}"
                " (run with --debug for the traceback)",
                style="red",
                soft_wrap=True,
            )
            raise typer.Exit(code=1) from None
        finally:
            _pending = outer

    return wrapper


_verbose = {"on": os.environ.get("KGBUILD_VERBOSE", "") not in ("", "0")}
# What the libraries print unless --verbose: their progress bars (weights loading, dataset splits, maps) and
# advisory warnings. Our own progress (one bar per long step, with ETA) is shown instead.
_QUIET_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TQDM_DISABLE": "1",
}


def shown(path: Any) -> str:
    """A path as messages print it: relative to the working directory when it lies inside it (shorter, and the same
    on every machine), else as it is."""
    from pathlib import Path

    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def verbose() -> bool:
    return _verbose["on"]


def _quiet_libraries(*, verbose: bool) -> None:
    """The libraries' log lines ("No device provided", "Loading SentenceTransformer model …", "Saving model to …") and
    warnings go to stderr only with --verbose: a command shows its own progress and results, and errors."""
    import logging
    import warnings

    logging.basicConfig(format="%(message)s", level=logging.INFO if verbose else logging.ERROR, force=True)
    if not verbose:
        warnings.filterwarnings("ignore")


def run_app(app: typer.Typer, argv: list[str] | None = None) -> None:
    """Run a CLI app. `--debug` and `--verbose` are accepted anywhere on the line (every error message suggests
    --debug, and users put it after the subcommand). Without --verbose, library output is hidden."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args:
        set_debug(True)
        args = [a for a in args if a != "--debug"]
    if "--verbose" in args:
        _verbose["on"] = True
        args = [a for a in args if a != "--verbose"]
    if not _verbose["on"]:
        for key, value in _QUIET_ENV.items():  # before the libraries are imported (commands import them lazily)
            os.environ.setdefault(key, value)
    _quiet_libraries(verbose=_verbose["on"])
    try:  # typer vendors its click; older typers use click itself
        from typer._click.exceptions import NoArgsIsHelpError, UsageError
    except ImportError:
        from click.exceptions import NoArgsIsHelpError, UsageError
    try:
        code = app(args=args, standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UsageError as exc:  # a mistyped option or value: the toolkit's one line, not a box
        command = exc.ctx.command_path if exc.ctx is not None else app.info.name
        err.print(f"error: {exc.format_message()} — see `{command} --help`", style="red", soft_wrap=True)
        sys.exit(1)
    except typer.Abort:
        err.print("interrupted", style="red", soft_wrap=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_name(argument: Any) -> str:
    """A positional argument on a Usage line as click writes it (DATA_DIR, [MODELS]...), not typer's "{data_dir}"."""
    name = argument.display_name_raw.upper()
    name = name if argument.required else f"[{name}]"
    return name + ("..." if argument.nargs != 1 else "")


def make_app(name: str, help: str, version: str) -> typer.Typer:
    """A typer app with the shared --debug and --version options (kgbuild and trainer)."""
    from typer.core import TyperArgument

    if hasattr(TyperArgument, "_usage_display_name"):  # typer ≥ 0.16 writes a required argument as {name}
        TyperArgument._usage_display_name = _usage_name
    app = typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        add_completion=False,
        rich_markup_mode=None,  # help text is plain: "[model] base" must not be read as a markup tag
    )

    def show_version(value: bool) -> None:
        if value:
            typer.echo(f"{name} {version}")
            raise typer.Exit()

    @app.callback()
    def root(
        debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
        _version: bool = typer.Option(
            False, "--version", callback=show_version, is_eager=True, help="Print the version."
        ),
    ) -> None:
        set_debug(debug)

    return app
