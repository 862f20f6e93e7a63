"""Configuration: defaults, TOML, environment, flags, clear errors, the generated fingerprint key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dlpscan.config import Config, ConfigError, load_config, resolve_key
from dlpscan.extract.limits import Limits


def test_default_config_gives_the_extractor_defaults():
    assert Config().extract_limits() == Limits()


def test_precedence_file_then_environment_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    conf = tmp_path / "dlpscan.toml"
    conf.write_text(
        'policy = "bank"\njobs = 3\nexclude = ["*.iso"]\n[limits]\nmax_pdf_pages = 7\n', encoding="utf-8"
    )
    monkeypatch.setenv("DLPSCAN_JOBS", "5")
    monkeypatch.setenv("DLPSCAN_EXCLUDE", "*.bak,*.tmp")
    config, source = load_config(conf, {"policy": "courier", "jobs": None})
    assert source == conf
    assert (config.policy, config.jobs, config.exclude) == ("courier", 5, ["*.bak", "*.tmp"])
    assert config.extract_limits().max_pdf_pages == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs = 0\n", "jobs: Input should be greater than or equal to 1"),
        ("colour = 'red'\n", "colour: unknown setting"),
        ("[limits]\nmax_pdf_pages = 'many'\n", "limits.max_pdf_pages: Input should be a valid integer"),
        ("jobs = \n", "invalid TOML"),
    ],
)
def test_config_errors_are_one_clear_line(tmp_path: Path, text: str, message: str):
    conf = tmp_path / "dlpscan.toml"
    conf.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(conf)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_config_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_generated_key_is_private_and_reused(tmp_path: Path):
    config = Config(key_file=str(tmp_path / "state" / "fingerprint.key"))
    key, explicit = resolve_key(config)
    again, _ = resolve_key(config)
    mode = stat.S_IMODE((tmp_path / "state" / "fingerprint.key").stat().st_mode)
    assert (explicit, key == again, len(key), mode) == (False, True, 64, 0o600)


def test_given_key_is_used_as_is():
    assert resolve_key(Config(fingerprint_key="k")) == (b"k", True)
