"""Settings: environment variables prefixed `DIARYBOT_`, then an optional TOML file, then defaults.

Secrets are `SecretStr` so they never show up in logs or error messages. `load_settings` turns
a validation failure into one line naming the setting, which the CLI prints instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

LANGUAGES = ("en", "nl", "hr", "cs", "hu", "it", "pt")


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line meant for the operator."""


class Settings(BaseSettings):
    """Everything the bot can be configured with (see the README's configuration table)."""

    model_config = SettingsConfigDict(env_prefix="DIARYBOT_", extra="forbid")
    config_file: ClassVar[Path | None] = None

    data_dir: Path = Path("data")
    database_url: str = ""
    media_dir: Path | None = None
    default_language: str = "en"
    timezone: str = "Europe/Brussels"
    max_upload_mb: float = Field(default=20.0, gt=0)
    max_text_chars: int = Field(default=4000, gt=0)
    # Checked from the image header before decoding: a small file can unpack to gigabytes.
    max_image_megapixels: float = Field(default=50.0, gt=0)
    # Documents are matched against these MIME patterns; photos, audio and video always pass.
    allowed_document_types: list[str] = Field(
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
    matrix_allowed_servers: list[str] = Field(default_factory=list)

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

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not a known time zone name such as Europe/Lisbon") from exc
        return value

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
        raise SettingsError(f"setting {name!r} (DIARYBOT_{name.upper()}): {error['msg']}") from None
