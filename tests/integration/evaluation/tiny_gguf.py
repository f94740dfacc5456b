"""A tiny GGUF model made at test time, so llama.cpp can be run end to end without weights.

:func:`write_tiny_llama` writes a two-layer "llama" model (f32, under 400 KB) with a
SentencePiece-style vocabulary (``tokenizer.ggml.model = "llama"``: control tokens, the 256
byte-fallback tokens, printable characters and the prefixes of some common words, so English
and JSON tokenize to fewer tokens than characters) and a ChatML chat template that renders
the request's ``tools`` into the system turn.

The weights are random (seeded) except the embedding and output matrices, which carry a
bigram readout: whatever the prompt, the model answers with the same few randomly chosen
words and then ``<|im_end|>``, its end-of-generation token. Its answers are gibberish, but
short and the same at any temperature, so a run ends by itself instead of filling the
context. With its own template it never calls a tool (llama-cpp-python parses no tool calls
out of a template's text); under the grammar of the ``chatml-function-calling`` chat format,
small logit biases make it call ``submit`` with its words as the answer. It proves the
plumbing (load, template, tokenize, generate, stop, count tokens, tool calls), not a
capability.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from gguf import GGUFWriter, LlamaFileType, TokenType

__all__ = ["CONTEXT_LENGTH", "END_TOKEN", "REPLY_WORDS", "write_tiny_llama"]

#: The context the model was "trained" for; the agent's system prompt and tool list need
#: more than 512 tokens, so use an ``n_ctx`` of this size.
CONTEXT_LENGTH: Final = 4096
#: The end-of-generation token (also the chat template's end of turn).
END_TOKEN: Final = "<|im_end|>"
#: How many tokens (words) each reply has.
REPLY_WORDS: Final = 5

_EMBED: Final = 32
_HEADS: Final = 2
_KV_HEADS: Final = 1
_LAYERS: Final = 2
_FEED_FORWARD: Final = 64
_NOISE: Final = 0.02
#: The logit of the next token the bigram readout chooses; the others get their bias
#: (``_PREFERENCES``, at most 15) give or take a few tenths.
_READOUT: Final = 40.0
#: What each of the two marked dimensions of an embedding becomes after the RMS norm.
_NORMED: Final = (_EMBED / 2) ** 0.5
#: Logit biases that only matter where the reply cannot go on: under a grammar (the
#: ``chatml-function-calling`` chat format), they make the model call ``submit`` with its
#: reply as the answer and then end the turn: ``functions`` over ``message``, the ``<`` of
#: ``<|im_end|>`` over another call, ``"`` to close a string, ``}`` to close the object.
_PREFERENCES: Final = {
    '"': 15.0,
    "<": 12.0,
    "functions": 9.0,
    "submit": 9.0,
    "answer": 9.0,
    "}": 3.0,
}
_SPACE: Final = "\u2581"  # SentencePiece's word boundary

_CONTROL: Final = ("<unk>", "<s>", "</s>", "<|im_start|>", END_TOKEN)
_WORD_TEXT: Final = (
    "the a an and or not no to of in on at by for with from as is are be it this that you "
    "your can may must each only one all any use run read write file files path paths name "
    "type string object array boolean integer number description properties required "
    "additionalProperties parameters function functions tool tools call calls shell command "
    "commands workspace sandbox submit answer content encoding base64 utf relative task "
    "evaluation model models program programs system user assistant network time turns "
    "minutes seconds first find flaw proof input output exit status error text binary bytes "
    "directory current check step then when its their has have"
)
_WORDS: Final = tuple(_WORD_TEXT.split())

# ChatML, with the tools listed in the system turn (as templates of tool-calling models do).
_CHAT_TEMPLATE: Final = (
    "{% set first = 0 %}"
    "{% if messages and messages[0].role == 'system' %}{% set first = 1 %}{% endif %}"
    "{% if tools or first %}"
    "<|im_start|>system\n"
    "{% if first %}{{ messages[0].content }}{% endif %}"
    "{% if tools %}\n\n# Tools\n"
    "{% for tool in tools %}{{ tool.function | tojson }}\n{% endfor %}"
    "{% endif %}"
    "<|im_end|>\n"
    "{% endif %}"
    "{% for message in messages[first:] %}"
    "<|im_start|>{{ message.role }}\n"
    "{% if message.content %}{{ message.content }}{% endif %}"
    "{% for call in message.tool_calls or [] %}"
    "<tool_call>{{ call.function | tojson }}</tool_call>"
    "{% endfor %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _vocabulary() -> tuple[list[str], list[float], list[int]]:
    pieces: list[str] = list(_CONTROL)
    types = [int(TokenType.UNKNOWN)] + [int(TokenType.CONTROL)] * (len(_CONTROL) - 1)
    pieces += [f"<0x{byte:02X}>" for byte in range(256)]
    types += [int(TokenType.BYTE)] * 256
    normal: list[str] = [_SPACE, *(chr(code) for code in range(0x21, 0x7F))]
    # Every prefix of a word is a piece, so SentencePiece's pairwise merges can reach it.
    for word in _WORDS:
        for spelled in (word, _SPACE + word):
            normal += [spelled[:end] for end in range(2, len(spelled) + 1)]
    normal = list(dict.fromkeys(normal))
    pieces += normal
    types += [int(TokenType.NORMAL)] * len(normal)
    # Longer pieces score higher, so merges prefer them (scores are log-probabilities).
    scores = [0.0] * (len(pieces) - len(normal)) + [-1.0 / len(piece) for piece in normal]
    return pieces, scores, types


def _noise(
    generator: np.random.Generator, *shape: int, scale: float = _NOISE
) -> npt.NDArray[np.float32]:
    return (generator.standard_normal(shape) * scale).astype(np.float32)


def write_tiny_llama(path: Path, *, seed: int = 0) -> Path:
    """Write the tiny model to ``path`` (created or replaced) and return ``path``."""
    generator = np.random.default_rng(seed)
    pieces, scores, types = _vocabulary()
    vocab = len(pieces)
    end = pieces.index(END_TOKEN)
    words = [
        index for index, piece in enumerate(pieces) if piece.startswith(_SPACE) and len(piece) > 3
    ]
    reply = [int(token) for token in generator.choice(words, size=REPLY_WORDS, replace=False)]

    # The readout: dimension 0 marks "any other token", dimension i + 1 marks reply[i], and
    # the last dimension is 1 for every token, so its output weights act as a bias.
    embedding = _noise(generator, vocab, _EMBED)
    output = _noise(generator, vocab, _EMBED)
    chained = set(reply)
    embedding[:, _EMBED - 1] += 1.0
    for token in range(vocab):
        if token not in chained:
            embedding[token, 0] += 1.0
    for position, token in enumerate(reply):
        embedding[token, position + 1] += 1.0
    # After any other token comes reply[0], after reply[i] reply[i + 1], then the end.
    output[reply[0], 0] += _READOUT / _NORMED
    for position, token in enumerate([*reply[1:], end]):
        output[token, position + 1] += _READOUT / _NORMED
    for piece, logit in _PREFERENCES.items():
        output[pieces.index(piece), _EMBED - 1] += logit / _NORMED

    head = _EMBED // _HEADS
    writer = GGUFWriter(path, "llama")
    writer.add_name("clearinghouse tiny test model")
    writer.add_description("random weights with a bigram readout; its answers are gibberish")
    writer.add_file_type(LlamaFileType.ALL_F32)
    writer.add_context_length(CONTEXT_LENGTH)
    writer.add_embedding_length(_EMBED)
    writer.add_block_count(_LAYERS)
    writer.add_feed_forward_length(_FEED_FORWARD)
    writer.add_head_count(_HEADS)
    writer.add_head_count_kv(_KV_HEADS)
    writer.add_rope_dimension_count(head)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab)

    writer.add_tokenizer_model("llama")
    writer.add_token_list(pieces)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(pieces.index("<unk>"))
    writer.add_bos_token_id(pieces.index("<s>"))
    writer.add_eos_token_id(end)
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)
    writer.add_chat_template(_CHAT_TEMPLATE)

    ones = np.ones(_EMBED, dtype=np.float32)
    writer.add_tensor("token_embd.weight", embedding)
    for layer in range(_LAYERS):
        block = f"blk.{layer}"
        writer.add_tensor(f"{block}.attn_norm.weight", ones.copy())
        writer.add_tensor(f"{block}.attn_q.weight", _noise(generator, _EMBED, _EMBED))
        writer.add_tensor(f"{block}.attn_k.weight", _noise(generator, _KV_HEADS * head, _EMBED))
        writer.add_tensor(f"{block}.attn_v.weight", _noise(generator, _KV_HEADS * head, _EMBED))
        writer.add_tensor(f"{block}.attn_output.weight", _noise(generator, _EMBED, _EMBED))
        writer.add_tensor(f"{block}.ffn_norm.weight", ones.copy())
        writer.add_tensor(f"{block}.ffn_gate.weight", _noise(generator, _FEED_FORWARD, _EMBED))
        writer.add_tensor(f"{block}.ffn_up.weight", _noise(generator, _FEED_FORWARD, _EMBED))
        writer.add_tensor(f"{block}.ffn_down.weight", _noise(generator, _EMBED, _FEED_FORWARD))
    writer.add_tensor("output_norm.weight", ones)
    writer.add_tensor("output.weight", output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
