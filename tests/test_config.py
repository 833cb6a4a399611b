"""A service with a missing or malformed setting stops at once: exit 2, one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.fakes.telegram_api import TOKEN
from vitrina_common.config import (
    CONFIG_ERROR_EXIT_CODE,
    BotSettings,
    DatabaseSettings,
    Settings,
    load_settings,
)


def run_service(module: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("module", ["vitrina_bot", "vitrina_worker"])
def test_missing_token_exits_2_naming_the_variable(
    module: str, clean_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_service(module, clean_env, tmp_path)

    assert result.returncode == CONFIG_ERROR_EXIT_CODE
    assert result.stderr.strip().splitlines() == [
        f"{module.removeprefix('vitrina_')}: config error: APP_CONF__BOT__TOKEN is not set"
    ]
    assert "Traceback" not in result.stderr + result.stdout


def test_malformed_values_are_each_named(clean_env: dict[str, str], tmp_path: Path) -> None:
    env = {
        **clean_env,
        "APP_CONF__BOT__TOKEN": "not-a-token",
        "APP_CONF__DB__PORT": "five",
        "APP_CONF__TELEMETRY__LOG_LEVEL": "LOUD",
    }
    result = run_service("vitrina_bot", env, tmp_path)

    assert result.returncode == CONFIG_ERROR_EXIT_CODE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert any(
        line.startswith("bot: config error: APP_CONF__DB__PORT is invalid") for line in lines
    )
    assert any("APP_CONF__BOT__TOKEN is invalid: must look like" in line for line in lines)
    assert any("APP_CONF__TELEMETRY__LOG_LEVEL is invalid" in line for line in lines)
    assert "Traceback" not in result.stderr


def test_env_file_and_secret_files_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "APP_CONF__BOT__TOKEN").write_text(TOKEN)
    (secrets / "APP_CONF__DB__PASSWORD").write_text("from-a-mounted-secret")
    (tmp_path / ".env").write_text("APP_CONF__SHOP__NAME=Dot Env Shop\nAPP_CONF__DB__PORT=6543\n")
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("APP_CONF")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("APP_CONF_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("APP_CONF__DB__PORT", "7654")  # the environment beats .env

    settings = load_settings("bot", Settings)

    assert settings.bot.token.get_secret_value() == TOKEN
    assert settings.db.password.get_secret_value() == "from-a-mounted-secret"
    assert settings.shop.name == "Dot Env Shop"
    assert settings.db.port == 7654


def test_migrations_need_no_bot_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("APP_CONF__BOT__TOKEN", raising=False)
    monkeypatch.setenv("APP_CONF__DB__DSN", "postgresql://u:p@db.internal:5432/shop")

    settings = load_settings("migrations", DatabaseSettings)

    assert settings.db.sqlalchemy_url() == "postgresql+asyncpg://u:p@db.internal:5432/shop"


def test_comma_separated_nats_servers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_CONF__BOT__TOKEN", TOKEN)
    monkeypatch.setenv("APP_CONF__NATS__URL", "nats://a:4222, nats://b:4222")

    settings = load_settings("bot", Settings)

    assert settings.nats.servers == ["nats://a:4222", "nats://b:4222"]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("APP_CONF__API__PORT", "0", "APP_CONF__API__PORT is invalid"),
        (
            "APP_CONF__API__PAGE_SIZE",
            "500",
            "PAGE_SIZE must not exceed APP_CONF__API__MAX_PAGE_SIZE",
        ),
    ],
)
def test_the_api_needs_no_bot_token_but_names_its_own_bad_settings(
    clean_env: dict[str, str], tmp_path: Path, setting: str, value: str, message: str
) -> None:
    result = run_service("vitrina_api", {**clean_env, setting: value}, tmp_path)

    assert result.returncode == CONFIG_ERROR_EXIT_CODE
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("api: config error: ")
    assert message in line


@pytest.mark.parametrize("token", ["²:secret", "12:", ":secret", "abc:secret"])
def test_a_token_without_an_ascii_bot_id_and_a_secret_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="must look like 123456:ABC"):
        BotSettings(token=SecretStr(token))
