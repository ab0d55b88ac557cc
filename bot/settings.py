"""Settings: environment variables prefixed `DIARYBOT_`, then an optional TOML file, then defaults.

Secrets are `SecretStr` so they never show up in logs or error messages. `load_settings` turns
every mistake in them (a value that does not validate, a config file that is not TOML, a key that
is no setting) into one line naming what is wrong, which the CLI prints instead of a traceback.
List settings take a JSON list or comma-separated values, so
`DIARYBOT_MATRIX_ALLOWED_SERVERS=a.org,b.org` works as an operator would expect.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic_settings
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

LANGUAGES = ("en", "nl", "hr", "cs", "hu", "it", "pt")
ENV_PREFIX = "DIARYBOT_"
# The consent text's version when a deployment names none; see `Settings.consent_version`.
DEFAULT_CONSENT_VERSION = "2026-11"
# Read by the test suite only (see README), so never reported as unknown settings.
TEST_ENV_PREFIX = "DIARYBOT_TEST_"


def known_time_zone(name: str) -> str:
    """`name` if it is an IANA time zone this system knows; `ValueError` saying so otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not a known time zone name such as Europe/Lisbon") from None
    return name


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line meant for the operator."""


class Settings(BaseSettings):
    """Everything the bot can be configured with (see the README's configuration table)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")
    config_file: ClassVar[Path | None] = None

    data_dir: Path = Path("data")
    database_url: str = ""
    media_dir: Path | None = None
    default_language: str = "en"
    timezone: str = "Europe/Brussels"
    max_upload_mb: float = Field(default=20.0, gt=0)
    max_text_chars: int = Field(default=4000, gt=0)
    # Messages handled at once (other chats' messages queue); also sizes the database pool.
    max_concurrent_messages: int = Field(default=8, ge=1, le=200)
    # How often the scheduler looks for reminders to plan and send (it also wakes up for the
    # next one due); 0 turns reminders off in this process (another process sends them).
    reminder_check_seconds: int = Field(default=60, ge=0, le=3600)
    # Checked from the image header before decoding: a small file can unpack to gigabytes.
    max_image_megapixels: float = Field(default=50.0, gt=0)
    # Documents are matched against these MIME patterns; photos, audio and video always pass.
    # NoDecode: the environment's text reaches `_list_of_text` as is (JSON or comma-separated).
    allowed_document_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "application/pdf",
            "text/plain",
            "text/csv",
            "text/markdown",
            "application/rtf",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.*",
            "application/vnd.oasis.opendocument.*",
            "image/*",
            "audio/*",
            "video/*",
        ]
    )

    # What the consent text tells people (see the README's "Data protection"). Changing any of
    # them means a new text: raise `consent_version` too, and everyone who agreed to an earlier
    # version is asked again at their next message (their place in a conversation is kept).
    consent_version: str = Field(default=DEFAULT_CONSENT_VERSION, min_length=1, max_length=32)
    data_controller: str = Field(default="", max_length=300)
    data_contact: str = Field(default="", max_length=300)
    data_purpose: str = Field(default="", max_length=1000)
    # How long a cluster's data is kept after its end date, before `diarybot retention`.
    retention_months: int = Field(default=12, ge=1, le=600)

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "127.0.0.1:8443"
    telegram_webhook_secret: SecretStr | None = None

    matrix_homeserver: str | None = None
    matrix_user_id: str | None = None
    matrix_password: SecretStr | None = None
    matrix_access_token: SecretStr | None = None
    matrix_allowed_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then the TOML file named by `config_file` (if any)."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.config_file))
        return tuple(sources)

    @field_validator("allowed_document_types", "matrix_allowed_servers", mode="before")
    @classmethod
    def _list_of_text(cls, value: object) -> object:
        """A list as JSON (`["a", "b"]`) or as comma-separated values (`a, b`)."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"is not a JSON list ({exc.msg}); write one, or a, b, c without brackets"
                ) from None
        return [part.strip() for part in text.split(",") if part.strip()]

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_time_zone(value)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'diary.sqlite3').resolve()}"

    @property
    def resolved_media_dir(self) -> Path:
        """Where evidence files are stored, defaulting to `media/` in the data folder."""
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    @property
    def max_upload_bytes(self) -> int:
        """The largest evidence file accepted, in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Build the settings, raising `SettingsError` with one readable line when they are wrong."""
    if config_file is not None and not config_file.is_file():
        raise SettingsError(f"config file {config_file} does not exist")
    settings_cls = type("FileSettings", (Settings,), {"config_file": config_file})
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        if error["type"] == "extra_forbidden":
            where = f" in {config_file}" if config_file is not None else ""
            raise SettingsError(f"{name!r}{where} is not a setting") from None
        message = error["msg"].removeprefix("Value error, ")
        raise SettingsError(f"setting {name!r} ({ENV_PREFIX}{name.upper()}): {message}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {config_file} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"config file {config_file} cannot be read: {exc.strerror}") from None
    except pydantic_settings.SettingsError as exc:  # a source could not parse a value
        raise SettingsError(str(exc)) from None


def unknown_environment(environ: Mapping[str, str]) -> list[str]:
    """One line for each `DIARYBOT_*` variable that names no setting (a typo, usually).

    Only the names are reported, never the values (one of them may be a misspelled secret).
    Variables of the test suite (`DIARYBOT_TEST_*`) are not settings and are left alone.
    """
    known = {name.upper() for name in Settings.model_fields}
    lines = []
    for variable in sorted(environ):
        upper = variable.upper()
        if not upper.startswith(ENV_PREFIX) or upper.startswith(TEST_ENV_PREFIX):
            continue
        name = upper.removeprefix(ENV_PREFIX)
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {ENV_PREFIX}{close[0]}?" if close else ""
        lines.append(f"environment variable {variable} is not a setting and is ignored{hint}")
    return lines
