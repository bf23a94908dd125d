"""The one typed settings object. Built on first use, never at import time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration. Every field reads `CREDITDESK_<NAME>`; Slack and OpenAI also read their standard names."""

    model_config = SettingsConfigDict(
        env_prefix="CREDITDESK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
    )

    data_dir: Path = Field(default=Path("var"), description="SQLite file, local Chroma store, generated files.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in the data dir.")
    reporting_currency: str = Field(default="USD", min_length=3, max_length=3)
    timezone: str = Field(default="UTC", description="Business time zone used for 'today'.")
    date_order: Literal["ask", "day_first", "month_first"] = Field(
        default="ask",
        description="How chat reads a numeric date whose parts both fit as a month (07/12/2026): ask which one is "
        "meant, or always day/month, or always month/day.",
    )
    policy_file: Path | None = Field(default=None, description="Machine-readable credit policy (YAML).")
    policy_docs: list[Path] = Field(default_factory=list, description="Extra documents ingested by `init`.")

    chroma_url: str | None = Field(default=None, description="Chroma server URL; default a local store.")
    chroma_collection: str = "credit_policy"
    embedding_provider: Literal["local", "openai"] = "local"
    openai_embedding_model: str = "text-embedding-3-small"

    llm_provider: Literal["auto", "none", "openai", "azure", "openai_compatible"] = "auto"
    llm_model: str = "gpt-4.1-mini"
    llm_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CREDITDESK_LLM_BASE_URL", "OPENAI_BASE_URL")
    )
    llm_api_key: SecretStr | None = Field(default=None, description="Key for a custom OpenAI-compatible base URL.")
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CREDITDESK_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    azure_openai_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("CREDITDESK_AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_ENDPOINT")
    )
    azure_openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CREDITDESK_AZURE_OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")
    )
    azure_openai_api_version: str = "2024-10-21"
    llm_timeout_seconds: float = Field(default=60.0, gt=0)
    llm_max_model_calls: int = Field(default=8, ge=1)
    llm_max_tool_calls: int = Field(default=12, ge=1)

    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "CREDITDESK_SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "CREDITDESK_SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "CREDITDESK_SLACK_SIGNING_SECRET")
    )
    slack_api_url: str | None = Field(default=None, description="Override of Slack's Web API base URL (tests).")
    web_demo_users: bool = Field(
        default=False,
        description="Demo only: the web chat may pick a staff user without an API key. Honoured only when the "
        "server binds a loopback address (the app factory refuses otherwise) and announced with a start-up banner.",
    )

    deployment: Literal["embedded", "production"] = Field(
        default="embedded",
        description="production: secrets must be configured (the audit key is never generated on disk).",
    )
    audit_secret: SecretStr | None = Field(
        default=None, description="Key of the audit chain and its checkpoints (HMAC-SHA256, ≥ 32 characters)."
    )
    audit_previous_secrets: list[SecretStr] = Field(
        default_factory=list, description="Retired audit keys (JSON list) that still verify the events they signed."
    )
    audit_key_file: Path | None = Field(
        default=None, description="Audit key file; default <data dir>/audit.key, generated once (embedded only)."
    )
    audit_checkpoint_dir: Path | None = Field(
        default=None, description="Where signed audit checkpoints go; default <data dir>/audit-checkpoints."
    )

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str | None = None

    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("reporting_currency")
    @classmethod
    def _upper_currency(cls, value: str) -> str:
        return value.upper()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'creditdesk.db').resolve()}"

    @property
    def resolved_audit_checkpoint_dir(self) -> Path:
        return self.audit_checkpoint_dir or self.data_dir / "audit-checkpoints"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def resolved_policy_file(self) -> Path:
        return self.policy_file or PACKAGE_ROOT / "knowledge" / "policies" / "policy.yaml"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and CLI options that change the environment)."""
    get_settings.cache_clear()
