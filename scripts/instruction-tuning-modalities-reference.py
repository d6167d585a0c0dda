#!/usr/bin/env python3
"""Writes Tests/LauncherTests/Golden/instruction_tuning_reference.json from Modalities itself: what
`modalities data prepare_instruction_tuning_data` writes for Modalities' test config
(tests/instruction_tuning/files/apply_chat_template_config.yaml over lorem_ipsum_instruct.jsonl), and which targets
its `mask_loss_collator_wrapper` keeps on the packed test split.

Needs Modalities in a virtual environment (2026-12-06: modalities 0.5.0, torch 2.13.0+cpu, transformers 4.x —
0.5.0 imports a module transformers 5 removed):
    python3 -m venv V && V/bin/pip install torch==2.13.0 modalities "transformers<5"
    V/bin/python scripts/instruction-tuning-modalities-reference.py [MODALITIES_TEST_DATA]
"""
import hashlib
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import torch
from modalities.dataloader.collate_fns.collator_fn_wrapper_for_loss_masking import (
    LossMaskingCollateFnWrapper,
    LossMaskingTokenConfig,
)
from modalities.dataloader.dataset_factory import DatasetFactory
from modalities.models.gpt2.collator import GPT2LLMCollateFn
from modalities.tokenization.tokenizer_wrapper import PreTrainedHFTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/data")
OUT = ROOT / "Tests/LauncherTests/Golden/instruction_tuning_reference.json"


def runs(mask):
    """[start, end) runs of True positions."""
    out, start = [], None
    for i, keep in enumerate(mask + [False]):
        if keep and start is None:
            start = i
        elif not keep and start is not None:
            out.append([start, i])
            start = None
    return out


def main():
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        for folder in ("tests", "data"):
            shutil.copytree(DATA / "modalities-repo" / folder, work / folder)
        subprocess.run([str(pathlib.Path(sys.executable).parent / "modalities"), "data", "prepare_instruction_tuning_data",
                        "--config_file_path", "tests/instruction_tuning/files/apply_chat_template_config.yaml"],
                       cwd=work, check=True, capture_output=True)
        out = next((work / "tests/instruction_tuning/files/out_files").iterdir())
        files = {}
        for path in sorted(out.iterdir()):
            raw = path.read_bytes()
            if path.suffix == ".pbin":
                n = int.from_bytes(raw[:8], "little")
                files[path.name] = {"token_bytes_sha256": hashlib.sha256(raw[10:10 + n]).hexdigest(), "token_bytes": n}
            elif path.suffix == ".jsonl":
                files[path.name] = {"sha256": hashlib.sha256(raw).hexdigest()}
        tokenizer = PreTrainedHFTokenizer(
            pretrained_model_name_or_path=str(work / "data/tokenizer/hf_gpt2"), padding=False, truncation=False,
            special_tokens={"pad_token": "<|endoftext|>", "additional_special_tokens": ["^", "$", "°"]})
        dataset = DatasetFactory.get_packed_mem_map_dataset_continuous(
            raw_data_path=next(out.glob("*_test.*.pbin")), sequence_length=2048, sample_key="input_ids",
            reuse_last_target=False)
        collator = LossMaskingCollateFnWrapper(
            wrapped_collate_fn=GPT2LLMCollateFn(sample_key="input_ids", target_key="target_ids"),
            target_keys_to_mask=["target_ids"], loss_ignore_index=-100,
            mask_tokens=LossMaskingTokenConfig(b_include_to_loss_token="^", e_include_to_loss_token="$"),
            tokenizer=tokenizer)
        batch = collator([dataset[i] for i in range(len(dataset))])
        targets = batch.targets["target_ids"]
        result = {
            "modalities": __import__("importlib.metadata").metadata.version("modalities"),
            "folder": out.name,
            "files": files,
            "begin_marker_id": collator.b_mask_token_id,
            "end_marker_id": collator.e_mask_token_id,
            "test_samples": len(dataset),
            "kept_target_runs": [runs((row != -100).tolist()) for row in targets],
            "kept_targets": int((targets != -100).sum()),
        }
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"-> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
