#!/usr/bin/env python3
"""Encode throughput of the reference libraries on the same text as Benchmarks/TokenizerBenchmarks, one thread."""
import base64
import os
import pathlib
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
data = pathlib.Path(sys.argv[1])
text = (data / "corpus/tinyshakespeare.txt").read_text(encoding="utf-8")
documents = text.split("\n\n")
megabytes = len(text.encode()) / 1e6


def measure(name, encode):
    for document in documents[:200]:
        encode(document)
    tokens = sum(len(encode(document)) for document in documents)
    seconds = float("inf")
    for _ in range(3):  # fastest of three, as the Swift benchmark
        start = time.perf_counter()
        for document in documents:
            encode(document)
        seconds = min(seconds, time.perf_counter() - start)
    print(f"{name:<28} 1 thread: {megabytes / seconds:6.2f} MB/s {tokens / seconds / 1e6:6.2f} M tokens/s")


from tokenizers import Tokenizer
import sentencepiece
import tiktoken

hf = Tokenizer.from_file(str(data / "modalities/tokenizer/hf_gpt2/tokenizer.json"))
measure("HF tokenizers gpt2", lambda t: hf.encode(t).ids)
ranks = {base64.b64decode(a): int(b) for a, b in (l.split() for l in (data / "gpt2/gpt2.tiktoken").read_bytes().splitlines() if l)}
gpt2 = tiktoken.Encoding("gpt2", pat_str=r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
                         mergeable_ranks=ranks, special_tokens={})
measure("tiktoken gpt2", gpt2.encode_ordinary)
sp = sentencepiece.SentencePieceProcessor(model_file=str(data / "llama/tokenizer.model"))
measure("sentencepiece llama2", sp.encode)
mistral = Tokenizer.from_file(str(data / "mistral/tokenizer.json"))
measure("HF tokenizers mistral", lambda t: mistral.encode(t).ids)
