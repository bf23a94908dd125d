"""The one place a chat model is built: OpenAI, Azure OpenAI or any OpenAI-compatible server (vLLM, Ollama,
llama.cpp), chosen from the settings. Nothing is constructed at import time.

Key rule: a custom base URL never receives the OpenAI key. It gets `CREDITDESK_LLM_API_KEY` when that is set, and a
placeholder otherwise (local servers ignore it; the OpenAI SDK refuses to run without some key). Base URL and key
are always passed explicitly, so neither LangChain nor the OpenAI SDK falls back to `OPENAI_API_KEY`,
`OPENAI_BASE_URL`/`OPENAI_API_BASE` or a LangSmith gateway from the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr

from core.errors import CreditDeskError, ErrorCode
from core.logging import get_logger
from core.settings import Settings, get_settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = get_logger(__name__)

Provider = Literal["none", "openai", "azure", "openai_compatible"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_API_KEY = "not-needed"
DEFAULT_MAX_RETRIES = 1


@dataclass(frozen=True)
class ProviderConfig:
    """What the factory will build: resolved, explicit, and printable (`api_key` is a SecretStr)."""

    provider: Provider
    model: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_version: str | None = None
    timeout_seconds: float = 60.0

    @property
    def key_source(self) -> str:
        """Where the key comes from, for logs and `creditdesk` diagnostics; never the key itself."""
        if self.provider == "openai":
            return "openai_api_key"
        if self.provider == "azure":
            return "azure_openai_api_key"
        if self.provider == "openai_compatible":
            return "llm_api_key" if self.api_key and self.api_key.get_secret_value() != PLACEHOLDER_API_KEY else "none"
        return "none"


def resolve_provider(settings: Settings | None = None) -> ProviderConfig:
    """Decide the provider. `auto`: a base URL → openai_compatible; else an OpenAI key → openai; else an Azure
    endpoint and key → azure; else none (the offline planner answers)."""
    s = settings or get_settings()
    provider: str = s.llm_provider
    if provider == "auto":
        if s.llm_base_url:
            provider = "openai_compatible"
        elif s.openai_api_key:
            provider = "openai"
        elif s.azure_openai_endpoint and s.azure_openai_api_key:
            provider = "azure"
        else:
            provider = "none"
    timeout = s.llm_timeout_seconds
    if provider == "none":
        return ProviderConfig(provider="none", model=s.llm_model, timeout_seconds=timeout)
    if provider == "openai_compatible":
        if not s.llm_base_url:
            raise CreditDeskError(
                ErrorCode.NOT_CONFIGURED, "llm_provider is openai_compatible but CREDITDESK_LLM_BASE_URL is not set"
            )
        # Deliberately never `openai_api_key`: a custom server must not see the OpenAI key.
        key = s.llm_api_key if s.llm_api_key else SecretStr(PLACEHOLDER_API_KEY)
        return ProviderConfig(
            provider="openai_compatible",
            model=s.llm_model,
            base_url=s.llm_base_url,
            api_key=key,
            timeout_seconds=timeout,
        )
    if provider == "openai":
        if not s.openai_api_key:
            raise CreditDeskError(ErrorCode.NOT_CONFIGURED, "llm_provider is openai but OPENAI_API_KEY is not set")
        if s.llm_base_url:
            # The OpenAI key only ever goes to OpenAI; a proxy is configured as openai_compatible + llm_api_key.
            log.warning("llm.base_url_ignored", provider="openai")
        return ProviderConfig(
            provider="openai",
            model=s.llm_model,
            base_url=OPENAI_BASE_URL,
            api_key=s.openai_api_key,
            timeout_seconds=timeout,
        )
    if provider == "azure":
        if not (s.azure_openai_endpoint and s.azure_openai_api_key):
            raise CreditDeskError(
                ErrorCode.NOT_CONFIGURED,
                "llm_provider is azure but AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY are not both set",
            )
        return ProviderConfig(
            provider="azure",
            model=s.llm_model,
            base_url=s.azure_openai_endpoint,
            api_key=s.azure_openai_api_key,
            api_version=s.azure_openai_api_version,
            timeout_seconds=timeout,
        )
    raise CreditDeskError(ErrorCode.NOT_CONFIGURED, f"unknown llm_provider {provider!r}")


def model_configured(settings: Settings | None = None) -> bool:
    """True when turns should go to the agent; False → the offline planner."""
    return resolve_provider(settings).provider != "none"


def build_chat_model(
    settings: Settings | None = None, *, max_retries: int = DEFAULT_MAX_RETRIES, config: ProviderConfig | None = None
) -> BaseChatModel | None:
    """A LangChain chat model for the configured provider, or None when no model is configured."""
    cfg = config or resolve_provider(settings)
    if cfg.provider == "none":
        return None
    assert cfg.api_key is not None
    log.info("llm.configured", provider=cfg.provider, model=cfg.model, key_source=cfg.key_source)
    if cfg.provider == "azure":
        from langchain_openai import AzureChatOpenAI

        return AzureChatOpenAI(
            azure_endpoint=cfg.base_url,
            azure_deployment=cfg.model,
            api_version=cfg.api_version,
            api_key=cfg.api_key,
            timeout=cfg.timeout_seconds,
            max_retries=max_retries,
        )
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=cfg.model,
        base_url=cfg.base_url,
        api_key=cfg.api_key,
        timeout=cfg.timeout_seconds,
        max_retries=max_retries,
        # Chat Completions is what every OpenAI-compatible server speaks.
        use_responses_api=False,
    )
