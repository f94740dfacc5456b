"""Model adapters: one protocol (``base.ModelAdapter``) and the ways to reach a model.

A model is named by a spec string, which is also how runs record it:

=================================  ==============================================================
``openai:MODEL@BASE_URL``          an OpenAI-compatible chat-completions server (OpenAI,
                                   llama.cpp's ``llama-server``, vLLM); the key, if configured,
                                   is ``settings_keys["openai"]``
``anthropic:MODEL[@BASE_URL]``     Anthropic's Messages API; needs ``settings_keys["anthropic"]``
                                   for the public endpoint
``llamacpp:/path/model.gguf``      a GGUF file run in process (optional ``llamacpp`` extra)
``scripted:NAME``                  a packaged script (``scripted.SCRIPTS``) or a JSON script path
=================================  ==============================================================

Keys come from settings, never from the spec: the spec is stored and shown, a key is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from clearinghouse.core.errors import InputError
from clearinghouse.evaluation.adapters.anthropic import DEFAULT_BASE_URL, AnthropicAdapter
from clearinghouse.evaluation.adapters.base import (
    Completion,
    Message,
    ModelAdapter,
    ModelError,
    ToolCall,
    ToolSpec,
    Usage,
)
from clearinghouse.evaluation.adapters.llamacpp import LlamaCppAdapter
from clearinghouse.evaluation.adapters.openai_compat import OpenAICompatAdapter
from clearinghouse.evaluation.adapters.scripted import SCRIPTS, ScriptedAdapter

__all__ = [
    "SPEC_FORMS",
    "Completion",
    "Message",
    "ModelAdapter",
    "ModelError",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "adapter_from_spec",
]

SPEC_FORMS: Final = (
    "openai:MODEL@BASE_URL",
    "anthropic:MODEL[@BASE_URL]",
    "llamacpp:/path/model.gguf",
    "scripted:NAME-or-script.json",
)


def adapter_from_spec(
    spec: str, *, settings_keys: Mapping[str, str], timeout_s: float
) -> ModelAdapter:
    """The adapter a spec names; raises :class:`InputError` for a malformed spec (or URL,
    or script) and :class:`ModelError` when the model cannot be set up (a missing extra)."""
    kind, sep, rest = spec.strip().partition(":")
    if not sep or not rest.strip():
        raise InputError(f"model spec {spec!r} must be one of: {', '.join(SPEC_FORMS)}")
    rest = rest.strip()
    if kind == "openai":
        model, at, base_url = rest.partition("@")
        if not at or not model or not base_url:
            raise InputError(
                f"model spec {spec!r} must be 'openai:MODEL@BASE_URL', for example "
                "'openai:gpt-4o@https://api.openai.com/v1' or "
                "'openai:local@http://127.0.0.1:8080/v1'"
            )
        return OpenAICompatAdapter(
            model, base_url, settings_keys.get("openai") or None, timeout_s=timeout_s
        )
    if kind == "anthropic":
        model, at, base_url = rest.partition("@")
        if not model or (at and not base_url):
            raise InputError(
                f"model spec {spec!r} must be 'anthropic:MODEL' or 'anthropic:MODEL@BASE_URL'"
            )
        key = settings_keys.get("anthropic") or None
        if key is None and not at:
            raise InputError(
                "the anthropic adapter needs an API key: set CLEARINGHOUSE_ANTHROPIC_API_KEY"
            )
        return AnthropicAdapter(model, key, base_url or DEFAULT_BASE_URL, timeout_s=timeout_s)
    if kind == "llamacpp":
        return LlamaCppAdapter(Path(rest))
    if kind == "scripted":
        if rest in SCRIPTS:
            return ScriptedAdapter.from_path(SCRIPTS[rest])
        if rest.endswith(".json") or "/" in rest:
            return ScriptedAdapter.from_path(Path(rest))
        known = ", ".join(sorted(SCRIPTS)) or "none"
        raise InputError(
            f"model spec {spec!r}: no packaged script {rest!r} (packaged: {known}); "
            "give a path to a .json script instead"
        )
    raise InputError(
        f"model spec {spec!r}: unknown kind {kind!r}; expected one of: {', '.join(SPEC_FORMS)}"
    )
