"""The command line as a new user meets it: numeric options checked, errors about what was typed,
an unreachable download server explained, and help that fits an 80-column terminal."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import socket
from pathlib import Path

import pytest
from support.process import error_lines, free_port
from support.store_events import call_events

from monitor.cli import EXAMPLES, build_parser, main
from monitor.errors import ModelError
from monitor.speech.resolve import resolve_model
from monitor.store import StoreSink, db_path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data directory whose store holds three demo calls."""

    async def fill() -> None:
        sink = StoreSink(db_path(tmp_path))
        for name, started in (
            ("heat-deescalation", "2026-11-20T09:00:00Z"),
            ("card-payment", "2026-11-21T09:00:00Z"),
            ("escalation", "2026-11-22T09:00:00Z"),
        ):
            await sink.write(call_events(name, started))
        await sink.aclose()

    asyncio.run(fill())
    return tmp_path


# ---------------------------------------------------------------- numeric options


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["calls", "--limit", "0"], "argument --limit: must be a whole number, 1 or more, not '0'"),
        (["calls", "--limit", "-3"], "argument --limit: must be a whole number, 1 or more, not '-3'"),
        (["calls", "--limit", "ten"], "argument --limit: must be a whole number, 1 or more, not 'ten'"),
        (["calls", "--min-heat", "500"], "argument --min-heat: must be a heat from 0 to 100, not '500'"),
        (["calls", "--min-heat", "-1"], "argument --min-heat: must be a heat from 0 to 100, not '-1'"),
        (["calls", "--min-heat", "nan"], "argument --min-heat: must be a heat from 0 to 100, not 'nan'"),
        (["purge", "--retain-days", "nan"], "argument --retain-days: must be a number of days, 0 or more"),
        (["purge", "--retain-days", "inf"], "argument --retain-days: must be a number of days, 0 or more"),
        (["purge", "--retain-days", "-1"], "argument --retain-days: must be a number of days, 0 or more"),
        (["hub", "--retain-days", "nan"], "argument --retain-days: must be a number of days, 0 or more"),
        (["hub", "--retain-days", "-2"], "argument --retain-days: must be a number of days, 0 or more"),
        (["hub", "--port", "70000"], "argument --port: must be a port number from 0 to 65535, not '70000'"),
        (["hub", "--port", "-1"], "argument --port: must be a port number from 0 to 65535, not '-1'"),
    ],
)
def test_out_of_range_numbers_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A limit below 1, a heat outside 0-100, a non-finite or negative age or an impossible port
    is a usage error, exit 2, when the options are parsed (only parsed here: a hub that took
    them would start serving)."""
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: heatmon {argv[0]}") and "Traceback" not in err
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith(f"heatmon {argv[0]}: error: {message}")


def test_hub_port_zero_and_fractional_retention_are_accepted() -> None:
    """0 is a valid port (any free one) and retention may be a fraction of a day."""
    args = build_parser().parse_args(["hub", "--port", "0", "--retain-days", "0.5"])
    assert args.port == 0 and args.retain_days == 0.5


def test_valid_limits_and_heats_still_work(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--limit 1 lists one call, a limit beyond SQLite's integers lists all, --min-heat 0 and 100
    are in range."""
    assert main(["calls", "--data", str(data), "--limit", "1", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["calls", "--data", str(data), "--limit", "99999999999999999999999", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main(["calls", "--data", str(data), "--min-heat", "0", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main(["calls", "--data", str(data), "--min-heat", "100", "--json"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err


def test_purge_with_zero_days_deletes_every_stored_call(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`purge --retain-days 0` is meaningful, as its help says: it empties the store."""
    assert main(["purge", "--retain-days", "0", "--data", str(data)]) == 0
    assert capsys.readouterr().out.strip() == "purged 3 calls older than 0 days"
    assert main(["calls", "--data", str(data), "--json"]) == 0
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------- models path / pull


def test_models_path_of_an_unknown_name_talks_about_that_name(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`models path nosuch` says nosuch is neither a pulled model nor a directory, not "--model: ..."."""
    assert main(["models", "path", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert error_lines(err) == [
        "heatmon: error: 'nosuch' is neither a pulled model nor a model directory; "
        "see `heatmon models list` for the model names"
    ]
    assert "--model" not in err


def test_model_option_errors_still_name_the_option(isolated: Path) -> None:
    """Only `models path NAME` changed its wording: a bad --model still says --model."""
    with pytest.raises(ModelError, match=r"^--model: model directory not found"):
        resolve_model("nosuch")


def test_pull_without_network_says_the_server_could_not_be_reached(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No DNS (as offline): one line, exit 2, no raw errno, hints at --base-url and --model DIR."""

    def no_dns(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert main(["models", "pull", "en-us", "--quiet"]) == 2
    err = capsys.readouterr().err
    (line,) = error_lines(err)
    assert "the download server alphacephei.com could not be reached" in line
    assert "--base-url URL" in line and "--model DIR" in line and "vosk-model-small-en-us-0.15.zip" in line
    assert "[Errno" not in err and "Traceback" not in err
    assert not list((isolated / "models").glob("vosk-model-*"))


def test_pull_from_an_unreachable_mirror_points_at_the_base_url(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused connection to --base-url is one line telling to check --base-url."""
    base = f"http://127.0.0.1:{free_port()}/vosk/"
    assert main(["models", "pull", "en-us", "--quiet", "--base-url", base]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert "could not be reached (connection refused)" in line and "check the --base-url" in line
    assert "[Errno" not in line


def test_pull_refuses_a_base_url_that_is_no_url(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--base-url foo` is a usage error before anything is fetched; a bad $HEATMON_MODEL_URL is
    one line, not a traceback."""
    with pytest.raises(SystemExit) as exit_info:
        main(["models", "pull", "en-us", "--base-url", "mirror.lan/vosk"])
    assert exit_info.value.code == 2
    assert "argument --base-url: must be a URL like http://mirror.lan/vosk/" in capsys.readouterr().err


def test_pull_with_a_malformed_mirror_variable_is_one_line(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A $HEATMON_MODEL_URL without a scheme ends in one error line and exit 2, not a ValueError."""
    monkeypatch.setenv("HEATMON_MODEL_URL", "mirror.lan/vosk")
    assert main(["models", "pull", "en-us", "--quiet"]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert "is not a URL" in line


# ---------------------------------------------------------------- help


#: Every command and subcommand (a test below checks none is missing).
OWNED = [
    [],
    ["demo"],
    ["run"],
    ["ingest"],
    ["devices"],
    ["models"],
    ["models", "list"],
    ["models", "pull"],
    ["models", "path"],
    ["hub"],
    ["token"],
    ["token", "add"],
    ["token", "list"],
    ["calls"],
    ["export"],
    ["report"],
    ["purge"],
    ["replay"],
    ["score"],
]


def subcommands(parser: argparse.ArgumentParser, prefix: list[str]) -> list[list[str]]:
    """`prefix` and the argv of every subcommand below it, nested ones included."""
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += subcommands(child, [*prefix, name])
    return found


def test_help_checks_cover_every_subcommand() -> None:
    """A new subcommand cannot slip past the 80-column check."""
    assert sorted(subcommands(build_parser(), [])) == sorted(OWNED)


def help_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", OWNED, ids=lambda argv: " ".join(argv) or "heatmon")
def test_help_fits_80_columns_with_file_and_dir_metavars(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every line of these --help texts fits an 80-column terminal, paths are FILE or DIR, and
    the prose says "recogniser"."""
    monkeypatch.setenv("COLUMNS", "80")
    text = help_text(argv, capsys)
    assert text.startswith("usage: heatmon")
    assert [line for line in text.splitlines() if len(line) > 80] == []
    for default_metavar in ("MODELS_DIR", "TOKENS", "CERTFILE", "KEYFILE", "OUTPUT", "BASE_URL", "LIMIT"):
        assert default_metavar not in text
    assert "recognizer" not in text


def test_token_add_role_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    """`token add --help` says what each role may do."""
    text = " ".join(help_text(["token", "add"], capsys).split())
    assert "publisher: may only publish calls" in text and "supervisor: sees every call" in text
    assert "agent: sees only the calls of --agent NAME" in text


def test_top_level_help_shows_examples_that_parse(capsys: pytest.CaptureFixture[str]) -> None:
    """`heatmon --help` starts a new user at `heatmon demo`, and every example is a valid command line."""
    text = help_text([], capsys)
    assert "examples:\n  heatmon demo " in text
    examples = [line.strip() for line in EXAMPLES.splitlines() if line.startswith("  heatmon ")]
    commands = [shlex.split(line.split("   ")[0]) for line in examples]
    assert [words[:2] for words in commands] == [
        ["heatmon", "demo"],
        ["heatmon", "models"],
        ["heatmon", "run"],
        ["heatmon", "hub"],
    ]
    for words in commands:
        args = build_parser().parse_args(words[1:])
        assert args.command == words[1] and callable(args.func)


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["replay", "--no-such-option", "x.jsonl"], "usage: heatmon replay"),
        (["models", "pull", "en-us", "--bogus"], "usage: heatmon models pull"),
        (["--bogus"], "usage: heatmon [-h]"),
    ],
)
def test_an_unknown_option_shows_its_own_commands_usage(
    argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An option the command does not have is answered with that command's usage, exit 2."""
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(usage)
        and f"unrecognized arguments: {argv[-2] if argv[0] == 'replay' else argv[-1]}" in err
    )
