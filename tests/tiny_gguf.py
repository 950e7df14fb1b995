"""A tiny random-weight llama GGUF built in code, so llama.cpp paths are tested without a real model.

Architecture "llama", 2 layers, 32-dim, SPM vocabulary with byte fallback tokens (every text
tokenizes), f32 tensors: loads in milliseconds and answers nonsense, which is all the plumbing
tests need (scores are finite, grammars constrain, locks serialise). `chat_template` stores a
Jinja chat template in the metadata, as instruct GGUFs do, for the chat-completion path.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np


def build_tiny_gguf(path: Path | str, n_embd=32, n_layer=2, n_head=4, n_ff=64, seed=0, chat_template: str | None = None):
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(str(path), "llama")
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE]*256
    words = ["▁yes", "▁no", "▁the", "▁customer", "▁a", "▁b", "▁c", "▁d"] + [f"▁{c}" for c in "abcdefghijklmnopqrstuvwxyz"] + list("abcdefghijklmnopqrstuvwxyz") + ["▁"]
    words = list(dict.fromkeys(words))
    tokens += words; types += [gguf.TokenType.NORMAL]*len(words)
    scores = [0.0]*len(tokens)
    for i,t in enumerate(tokens):
        if types[i]==gguf.TokenType.NORMAL: scores[i] = -float(i)/100 + len(t)
    n_vocab = len(tokens)
    w.add_context_length(4096); w.add_embedding_length(n_embd); w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff); w.add_head_count(n_head); w.add_head_count_kv(n_head)
    w.add_rope_dimension_count(n_embd//n_head); w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama"); w.add_token_list(tokens); w.add_token_scores(scores); w.add_token_types(types)
    w.add_bos_token_id(1); w.add_eos_token_id(2); w.add_unk_token_id(0)
    if chat_template is not None:
        w.add_chat_template(chat_template)
    f = lambda *s: (rng.standard_normal(s)*0.02).astype(np.float32)
    w.add_tensor("token_embd.weight", f(n_vocab, n_embd))
    w.add_tensor("output_norm.weight", np.ones(n_embd, np.float32))
    w.add_tensor("output.weight", f(n_vocab, n_embd))
    for i in range(n_layer):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, np.float32))
        for n in "qkv": w.add_tensor(f"blk.{i}.attn_{n}.weight", f(n_embd, n_embd))
        w.add_tensor(f"blk.{i}.attn_output.weight", f(n_embd, n_embd))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", f(n_ff, n_embd))
        w.add_tensor(f"blk.{i}.ffn_up.weight", f(n_ff, n_embd))
        w.add_tensor(f"blk.{i}.ffn_down.weight", f(n_embd, n_ff))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    return Path(path)
