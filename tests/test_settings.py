"""Settings: environment, TOML file, defaults and one-line errors."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings, unknown_environment


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.org", ["example.org"]),
        ("example.org, school.example ,", ["example.org", "school.example"]),
        ('["example.org", "*"]', ["example.org", "*"]),
        ("", []),
    ],
)
def test_list_settings_take_comma_separated_values_or_json(monkeypatch, value, expected) -> None:
    monkeypatch.setenv("DIARYBOT_MATRIX_ALLOWED_SERVERS", value)
    monkeypatch.setenv("DIARYBOT_ALLOWED_DOCUMENT_TYPES", value)
    settings = load_settings()
    assert settings.matrix_allowed_servers == expected
    assert settings.allowed_document_types == expected


def test_a_toml_list_and_a_toml_string_both_work(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DIARYBOT_MATRIX_ALLOWED_SERVERS", raising=False)
    monkeypatch.delenv("DIARYBOT_ALLOWED_DOCUMENT_TYPES", raising=False)
    config = tmp_path / "diarybot.toml"
    config.write_text(
        'matrix_allowed_servers = ["a.example", "b.example"]\n'
        'allowed_document_types = "application/pdf, text/plain"\n'
    )
    settings = load_settings(config)
    assert settings.matrix_allowed_servers == ["a.example", "b.example"]
    assert settings.allowed_document_types == ["application/pdf", "text/plain"]


def test_a_config_file_mistake_is_one_line(tmp_path) -> None:
    config = tmp_path / "diarybot.toml"
    config.write_text('timezone = "Europe/Lisbon\n')
    with pytest.raises(SettingsError, match="is not valid TOML") as err:
        load_settings(config)
    assert "\n" not in str(err.value)
    config.write_text('timezon = "Europe/Lisbon"\n')
    with pytest.raises(SettingsError) as err:
        load_settings(config)
    assert str(err.value) == f"'timezon' in {config} is not a setting"


def test_unknown_diarybot_variables_are_named_without_values() -> None:
    environ = {
        "DIARYBOT_TELEGRAM_TOKN": "123:secret",
        "diarybot_data_dir": "/srv",  # pydantic-settings reads names in any case
        "DIARYBOT_TEST_POSTGRES_URL": "postgresql://x",  # the test suite's own
        "HOME": "/root",
    }
    assert unknown_environment(environ) == [
        "environment variable DIARYBOT_TELEGRAM_TOKN is not a setting and is ignored; "
        "did you mean DIARYBOT_TELEGRAM_TOKEN?"
    ]
