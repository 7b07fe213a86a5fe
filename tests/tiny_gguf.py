"""Write a tiny (~0.4 MB, F32) llama GGUF that a real Ollama server accepts, creates and loads.

What a real server needs: llama architecture, gpt2 tokenizer with ASCII-only tokens, the
usual tensors, random weights. Deterministic for a given seed, so its digest is stable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CONTEXT_LENGTH = 4096
EMBEDDING_LENGTH = 64
BLOCK_COUNT = 2
FEED_FORWARD_LENGTH = 128
HEAD_COUNT = 4
ROPE_DIMENSIONS = EMBEDDING_LENGTH // HEAD_COUNT
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _vocabulary() -> list[str]:
    # ASCII only, so every token decodes to valid UTF-8 (else generation breaks).
    special = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    printable = [chr(c) for c in range(33, 127)]
    words = ["Ġt", "he"] + ["Ġ" + w for w in ("the", "a", "is", "of", "to", "and", "in", "hi")]
    return special + printable + ["Ġ"] + words


def write_tiny_gguf(path: str | Path, *, seed: int = 0) -> Path:
    """Write the model to ``path`` and return it."""
    import gguf

    path = Path(path)
    rng = np.random.default_rng(seed)
    tokens = _vocabulary()
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(f"tiny-{seed}")
    writer.add_context_length(CONTEXT_LENGTH)
    writer.add_embedding_length(EMBEDDING_LENGTH)
    writer.add_block_count(BLOCK_COUNT)
    writer.add_feed_forward_length(FEED_FORWARD_LENGTH)
    writer.add_rope_dimension_count(ROPE_DIMENSIONS)
    writer.add_head_count(HEAD_COUNT)
    writer.add_head_count_kv(HEAD_COUNT)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    types = [gguf.TokenType.CONTROL] * 5 + [gguf.TokenType.NORMAL] * (len(tokens) - 5)
    writer.add_token_types(types)
    writer.add_token_merges(["Ġ t", "h e"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_eot_token_id(4)
    writer.add_chat_template(CHAT_TEMPLATE)

    def tensor(name: str, *shape: int) -> None:
        data = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        writer.add_tensor(name, data)

    vocab = len(tokens)
    tensor("token_embd.weight", vocab, EMBEDDING_LENGTH)
    writer.add_tensor("output_norm.weight", np.ones(EMBEDDING_LENGTH, dtype=np.float32))
    tensor("output.weight", vocab, EMBEDDING_LENGTH)
    for i in range(BLOCK_COUNT):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(EMBEDDING_LENGTH, np.float32))
        tensor(f"blk.{i}.attn_q.weight", EMBEDDING_LENGTH, EMBEDDING_LENGTH)
        tensor(f"blk.{i}.attn_k.weight", EMBEDDING_LENGTH, EMBEDDING_LENGTH)
        tensor(f"blk.{i}.attn_v.weight", EMBEDDING_LENGTH, EMBEDDING_LENGTH)
        tensor(f"blk.{i}.attn_output.weight", EMBEDDING_LENGTH, EMBEDDING_LENGTH)
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(EMBEDDING_LENGTH, np.float32))
        tensor(f"blk.{i}.ffn_gate.weight", FEED_FORWARD_LENGTH, EMBEDDING_LENGTH)
        tensor(f"blk.{i}.ffn_down.weight", EMBEDDING_LENGTH, FEED_FORWARD_LENGTH)
        tensor(f"blk.{i}.ffn_up.weight", FEED_FORWARD_LENGTH, EMBEDDING_LENGTH)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


if __name__ == "__main__":
    import sys

    out = write_tiny_gguf(sys.argv[1] if len(sys.argv) > 1 else "tiny.gguf")
    print(out, out.stat().st_size)
