"""Settings: environment, TOML file, defaults and one-line errors."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_use_sqlite_in_the_data_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DIARYBOT_DATABASE_URL", raising=False)
    settings = load_settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'diary.sqlite3'}"
    assert settings.resolved_media_dir == tmp_path / "media"


def test_environment_and_toml_file(tmp_path, monkeypatch) -> None:
    config = tmp_path / "diarybot.toml"
    config.write_text(
        'timezone = "Europe/Zagreb"\ndefault_language = "hr"\ntelegram_token = "123:abc"\n'
    )
    monkeypatch.setenv("DIARYBOT_DEFAULT_LANGUAGE", "cs")
    settings = load_settings(config)
    assert settings.timezone == "Europe/Zagreb"
    assert settings.default_language == "cs"  # the environment wins over the file
    assert settings.telegram_token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("DIARYBOT_DEFAULT_LANGUAGE", "xx", "default_language"),
        ("DIARYBOT_TIMEZONE", "Mars/Olympus", "timezone"),
        ("DIARYBOT_MAX_UPLOAD_MB", "-3", "max_upload_mb"),
    ],
)
def test_invalid_setting_is_one_line_naming_it(monkeypatch, variable, value, named) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert named in message and variable in message
    assert "\n" not in message


def test_missing_config_file(tmp_path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_the_shipped_example_config_loads() -> None:
    from pathlib import Path

    example = Path(__file__).parent.parent / "deploy" / "diarybot.example.toml"
    settings = load_settings(example)
    assert settings.default_language == "pt"
    assert settings.resolved_database_url.startswith("postgresql://")
