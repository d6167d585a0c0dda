#!/usr/bin/env python3
"""Writes the golden token ids that the tokenizer tests compare against, using the reference libraries.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install tokenizers sentencepiece tiktoken
    /tmp/ref/bin/python scripts/make-tokenizer-goldens.py $MODALITIES_TEST_DATA Tests/TokenizersTests/Golden

Documents: tiny Shakespeare split at blank lines, and each GSM8K row's question and answer. For every block of
16 documents a line holds the token count and an FNV-1a 64-bit hash of the ids (each as 4 little-endian bytes);
the first line holds the whole corpus's token count. The tests compute the same from our tokenizers.
"""
import base64
import json
import pathlib
import sys

BLOCK = 16
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def corpora(data: pathlib.Path):
    shakespeare = (data / "corpus/tinyshakespeare.txt").read_text(encoding="utf-8")
    gsm8k = []
    for line in (data / "jsonl/gsm8k_train.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        gsm8k += [row["question"], row["answer"]]
    return {"shakespeare": shakespeare.split("\n\n"), "gsm8k": gsm8k}


def fnv1a(ids):
    value = 0xCBF29CE484222325
    for token in ids:
        for byte in int(token).to_bytes(4, "little", signed=True):
            value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def write(path: pathlib.Path, encode, documents):
    encoded = [encode(text) for text in documents]
    lines = [str(sum(len(ids) for ids in encoded))]
    for start in range(0, len(encoded), BLOCK):
        block = [token for ids in encoded[start:start + BLOCK] for token in ids]
        lines.append(f"{len(block)} {fnv1a(block):016x}")
    path.write_text("\n".join(lines) + "\n")


def tiktoken_encoder(name, ranks_path, pattern, specials):
    import tiktoken
    ranks = {}
    for line in pathlib.Path(ranks_path).read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    encoding = tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)
    return lambda text: encoding.encode(text, allowed_special="all")


def main():
    data, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    import sentencepiece

    gpt2 = Tokenizer(models.BPE.from_file(str(data / "gpt2/vocab.json"), str(data / "gpt2/merges.txt")))
    gpt2.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    gpt2.decoder = decoders.ByteLevel()
    gpt2.add_special_tokens(["<|endoftext|>"])
    hf_gpt2 = Tokenizer.from_file(str(data / "modalities/tokenizer/hf_gpt2/tokenizer.json"))
    mistral_json = Tokenizer.from_file(str(data / "mistral/tokenizer.json"))
    encoders = {
        "gpt2-vocab-merges": lambda text: gpt2.encode(text).ids,
        "gpt2-modalities-tokenizer-json": lambda text: hf_gpt2.encode(text).ids,
        "gpt2-tiktoken": tiktoken_encoder("gpt2", data / "gpt2/gpt2.tiktoken", GPT2_PATTERN, {"<|endoftext|>": 50256}),
        "llama3-tiktoken": tiktoken_encoder("llama3", data / "llama3/tokenizer.model", LLAMA3_PATTERN,
                                            {"<|begin_of_text|>": 128000, "<|end_of_text|>": 128001}),
        "llama2-sentencepiece": sentencepiece.SentencePieceProcessor(model_file=str(data / "llama/tokenizer.model")).encode,
        "mistral-sentencepiece": sentencepiece.SentencePieceProcessor(model_file=str(data / "mistral/tokenizer.model")).encode,
        "mistral-tokenizer-json": lambda text: mistral_json.encode(text).ids,
        "en32k-sentencepiece": sentencepiece.SentencePieceProcessor(
            model_file=str(data / "modalities/tokenizer/sentencepiece_dclm/en_32k_tokenizer.model")).encode,
        "unigram-sentencepiece": sentencepiece.SentencePieceProcessor(
            model_file=str(data / "modalities/tokenizer/unigram_tokenizer.model")).encode,
    }
    for corpus, documents in corpora(data).items():
        for name, encode in encoders.items():
            write(out / f"{name}.{corpus}.txt", encode, documents)
            print(f"wrote {name}.{corpus}.txt")


if __name__ == "__main__":
    main()
