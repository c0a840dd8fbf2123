"""Numbers on the command line and in the environment (issue 16, item 1; ADR 0045): the same
parser as the HTTP edge (``adapters.inputs.numbers``). A position beyond 64 bits or a digit of
another script is a usage error (exit 2) naming the option, never a traceback from the
store."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.cli.main import main
from adapters.settings import Settings, SettingsError

BEYOND_64_BITS = str(2**63)


@pytest.mark.parametrize("argv", [
    ["audit", "verify", "--from", BEYOND_64_BITS],
    ["audit", "verify", "--from", "²"],
    ["audit", "verify", "--from", "٣"],
    ["audit", "verify", "--from", "0"],
    ["audit", "export", "--since", BEYOND_64_BITS],
    ["audit", "export", "--since", "-1"],
])
def test_a_bad_position_is_a_usage_error(argv: list[str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--database", f"sqlite:///{tmp_path}/x.sqlite3"])
    assert exit_.value.code == 2
    assert argv[2] in capsys.readouterr().err


def test_a_position_in_range_still_works(tmp_path: Path):
    assert main(["audit", "verify", "--from", "5", "--database",
                 f"sqlite:///{tmp_path}/x.sqlite3"]) == 0


@pytest.mark.parametrize("value", ["²/second", "٣/minute", f"{BEYOND_64_BITS}/second"])
def test_a_rate_limit_with_a_strange_number_is_a_settings_error(value: str):
    with pytest.raises(SettingsError, match="OPSLEDGER_RATE_LIMIT"):
        Settings(rate_limit=value)


@pytest.mark.parametrize("value", ["²", "80.5", "70000", "٣"])
def test_a_strange_port_is_a_settings_error(value: str):
    with pytest.raises(SettingsError, match="OPSLEDGER_PORT"):
        Settings.from_env({"OPSLEDGER_PORT": value})
