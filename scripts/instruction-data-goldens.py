#!/usr/bin/env python3
"""Writes Tests/InstructionTuningTests/Golden/lorem_ipsum_instruct.json: what Modalities' split_and_apply_chat_template
(src/modalities/dataloader/apply_chat_template.py at Modalities main bf0e6d3) writes for its own test config,
tests/instruction_tuning/files/apply_chat_template_config.yaml, over lorem_ipsum_instruct.jsonl.

The steps below are Modalities' own, call for call: random.seed(seed) then one random.choices(partitions, weights)
per line (partitions in train, val, test order), role_mapping applied to "role"/"from", the template compiled after
replace("}\\n{", "}{") in ImmutableSandboxedEnvironment(trim_blocks, lstrip_blocks) with its tojson and
raise_exception, entry["chat"] = rendered, json.dump(entry, ensure_ascii=False) + "\\n", files named
<dst stem>_<partition>.<sha256(config)[:7]>.jsonl in <src stem>_<hash>/.

Run from the project root: python3 scripts/instruction-data-goldens.py [MODALITIES_TEST_DATA]   (needs jinja2, PyYAML)
"""
import hashlib
import json
import pathlib
import random
import sys
import tempfile

import yaml
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/data")
REPO = DATA / "modalities-repo"
CONFIG = REPO / "tests/instruction_tuning/files/apply_chat_template_config.yaml"
OUT = ROOT / "Tests/InstructionTuningTests/Golden/lorem_ipsum_instruct.json"


def compile_template(source):
    def raise_exception(message):
        raise TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env.from_string(source.replace("}\n{", "}{"))


def main():
    config = yaml.safe_load(CONFIG.read_text())
    settings = config["settings"]
    template = compile_template(config["jinja2_chat_template"])
    hash_str = hashlib.sha256(CONFIG.read_bytes()).hexdigest()[:7]
    src = pathlib.Path(settings["src_path"])
    with tempfile.TemporaryDirectory() as tmp:
        dst = pathlib.Path(tmp) / "lorem_ipsum_instruct_converted.jsonl"  # the dst_path Modalities' e2e test sets
        dst = dst.parent / f"{src.stem}_{hash_str}" / dst.name
        dst.parent.mkdir(parents=True)
        default_suffix = f".{hash_str}" + ".".join(dst.suffixes)
        splitting = {name: settings["split_config"]["splitting"][name] for name in ("train", "val", "test")}
        files, paths = {}, {}
        for partition, percentage in splitting.items():
            if percentage == 0:
                continue
            paths[partition] = dst.with_name(f"{dst.stem}_{partition}").with_suffix(default_suffix)
            files[partition] = paths[partition].open("w")
        random.seed(settings["split_config"]["seed"])
        partitions, weights = list(zip(*splitting.items()))
        counts = {}
        with open(REPO / settings["src_path"], encoding="utf-8") as reader:
            for line in reader:
                entry = json.loads(line)
                partition = random.choices(partitions, weights=weights)[0]
                for turn in entry[settings["messages_key"]]:
                    for key, value in turn.items():
                        if key in ("role", "from"):
                            turn[key] = config["instruction_data_transformation"]["role_mapping"][value]
                entry["chat"] = template.render(messages=entry[settings["messages_key"]], chat_template_data=config["chat_template_data"])
                json.dump(entry, files[partition], ensure_ascii=False)
                files[partition].write("\n")
                counts[partition] = counts.get(partition, 0) + 1
        for f in files.values():
            f.close()
        result = {
            "config_hash": hash_str,
            "folder": dst.parent.name,
            "partitions": [
                {"partition": p, "file": paths[p].name, "samples": counts.get(p, 0),
                 "sha256": hashlib.sha256(paths[p].read_bytes()).hexdigest(),
                 "first_line": paths[p].read_text(encoding="utf-8").split("\n")[0]}
                for p in paths
            ],
        }
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    print(f"-> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
