"""A local GGUF model run in process by llama-cpp-python (the optional ``llamacpp`` extra).

llama-cpp-python's ``Llama.create_chat_completion`` answers in the OpenAI chat-completions
shape, so this adapter reuses that module's mapping and parser. The library is imported only
when an adapter is made, so the clearinghouse runs without it; its absence is a
:class:`ModelError` that says how to install it. Tool calling needs a chat format that
supports tools: by default the template embedded in the GGUF file is used (llama-cpp-python
renders ``tools`` through it, but does not parse tool calls out of the reply); pass
``chat_format`` (e.g. ``"chatml-function-calling"``, which constrains the reply with a grammar
and returns real tool calls) for a model to call tools. Those formats act on the tools only
with ``tool_choice="auto"``, which is sent whenever there are tools.

For a model served by llama.cpp's own ``llama-server`` use the ``openai:`` adapter instead;
it speaks the same API over HTTP.

It does not: download models, share one loaded model between threads (calls are serialised
by a lock: a ``Llama`` object is not thread-safe), or offload to a GPU unless asked
(``n_gpu_layers``).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clearinghouse.core.errors import InputError
from clearinghouse.evaluation.adapters.base import Completion, Message, ModelError, ToolSpec
from clearinghouse.evaluation.adapters.openai_compat import (
    openai_messages,
    openai_tools,
    parse_openai_response,
)

__all__ = ["INSTALL_HINT", "LlamaCppAdapter"]

INSTALL_HINT = "install the llamacpp extra (pip install 'clearinghouse[llamacpp]')"


def _load_library() -> Any:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError as error:
        raise ModelError(
            f"llamacpp: llama-cpp-python is not available ({error}); {INSTALL_HINT}"
        ) from None


class LlamaCppAdapter:
    """A GGUF model file loaded once, answering with greedy decoding (temperature 0, fixed
    seed) so that a run can be repeated."""

    def __init__(
        self,
        model_path: Path | str,
        n_ctx: int = 4096,
        *,
        chat_format: str | None = None,
        n_gpu_layers: int = 0,
        seed: int = 0,
    ) -> None:
        library = _load_library()
        path = Path(model_path)
        if not path.is_file():
            raise InputError(f"llamacpp: no model file at {path}")
        if n_ctx < 512:
            raise InputError(f"llamacpp: n_ctx must be at least 512, got {n_ctx}")
        self.model_path = path
        self._lock = threading.Lock()
        try:
            self._llama: Any = library.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                chat_format=chat_format,
                n_gpu_layers=n_gpu_layers,
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelError(f"llamacpp: could not load {path.name}: {error}") from None

    @property
    def name(self) -> str:
        return f"llamacpp:{self.model_path}"

    def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], *, max_tokens: int
    ) -> Completion:
        wire_tools = openai_tools(tools) or None
        with self._lock:
            try:
                document: object = self._llama.create_chat_completion(
                    messages=openai_messages(messages),
                    tools=wire_tools,
                    # The API's default, but llama-cpp-python's function-calling formats
                    # ignore the tools unless it is given.
                    tool_choice="auto" if wire_tools else None,
                    max_tokens=max_tokens,
                    temperature=0.0,
                )
            except (ValueError, RuntimeError) as error:
                # e.g. "Requested tokens exceed context window"
                raise ModelError(f"llamacpp: {error}") from None
        return parse_openai_response(document, what="llamacpp")
