#!/usr/bin/env python3
"""Writes small fixed-weight vision transformers and CoCa models and the outputs Modalities' own modules compute for
them, for the parity tests of Sources/Models (Tests/ModelsTests/CoCaParityTests.swift).

    python3 -m venv /tmp/cvenv && /tmp/cvenv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    /tmp/cvenv/bin/pip install einops pydantic numpy
    git -C MODALITIES_CHECKOUT archive HEAD src | tar -x -C /tmp/msrc     # Modalities main, e.g. a `fetch` mirror
    PYTHONPATH=/tmp/msrc/src /tmp/cvenv/bin/python scripts/make-coca-goldens.py Tests/ModelsTests/Golden

For each case it writes NAME.json (Modalities' config of the model, parameter names and shapes in named_parameters()
order, the inputs' shapes and token ids, the output keys and shapes) and NAME.bin (every parameter, then the images,
then each output in the JSON's order, as little-endian float32). Weights are drawn N(0, 0.2) (norms N(1, 0.2)), so
every parameter matters; dropout is 0 and the models are in eval mode.
"""
import json
import pathlib
import struct
import sys

import torch

from modalities.models.coca.coca_model import CoCa, CoCaConfig
from modalities.models.vision_transformer.vision_transformer_model import VisionTransformer

torch.manual_seed(0)
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)


def floats(tensor):
    tensor = tensor.detach().float().contiguous()
    return struct.pack(f"<{tensor.numel()}f", *tensor.flatten().tolist())


def randomize(model):
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.normal_(mean=1.0 if ("norm" in name or "ln_" in name) and name.endswith("weight") else 0.0, std=0.2)


def write(name, config, model, inputs, outputs):
    blob = bytearray()
    manifest = []
    for key, parameter in model.named_parameters():
        manifest.append({"name": key, "shape": list(parameter.shape)})
        blob += floats(parameter)
    images = inputs["images"]
    blob += floats(images)
    output_manifest = []
    for key, tensor in outputs:
        output_manifest.append({"key": key, "shape": list(tensor.shape)})
        blob += floats(tensor)
    (out / f"{name}.bin").write_bytes(bytes(blob))
    (out / f"{name}.json").write_text(json.dumps({
        "config": config, "parameters": manifest, "images_shape": list(images.shape),
        "input_ids": inputs["input_ids"].tolist() if "input_ids" in inputs else None, "outputs": output_manifest,
    }, indent=1))


def vision_transformer(name, **overrides):
    config = dict(sample_key="images", prediction_key="logits", img_size=(12, 16), n_classes=5, n_layer=2,
                  attention_config={"attention_engine_type": "default_attention"}, n_head=2, n_embd=16, ffn_hidden=24,
                  dropout=0.0, patch_size=4, patch_stride=4, n_img_channels=3, add_cls_token=True, bias=True)
    config.update(overrides)
    from modalities.nn.attention import AttentionConfig
    model = VisionTransformer(**{**config, "attention_config": AttentionConfig(**config["attention_config"])}).eval()
    randomize(model)
    images = torch.randn(2, 3, *config["img_size"])
    with torch.no_grad():
        logits = model({"images": images})["logits"]
    config["img_size"] = list(config["img_size"])
    write(name, config, model, {"images": images}, [("logits", logits)])


def coca(name, activation, engine):
    attention = {"attention_engine_type": engine}
    config = dict(
        prediction_key="logits", vision_embd_prediction_key="vision_embeddings", text_embd_prediction_key="text_embeddings",
        vision_cls_prediction_key="vision_cls", text_cls_prediction_key="text_cls",
        vision_encoder_config=dict(sample_key="images", prediction_key="vision_embeddings", img_size=16, n_classes=None,
                                   n_layer=2, attention_config=attention, n_head=2, n_embd=16, dropout=0.0, patch_size=4,
                                   patch_stride=4, n_img_channels=3, add_cls_token=False, bias=True),
        text_decoder_config=dict(sample_key="input_ids", prediction_key="logits", block_size=8, vocab_size=40,
                                 n_layer_text=2, n_layer_multimodal_text=2, attention_config=attention, n_head=4,
                                 ffn_hidden=48, n_embd=16, dropout=0.0, bias=True, activation=activation, epsilon=1e-5),
        n_pool_head=2, n_vision_queries=6, bias_attn_pool=False, epsilon_attn_pool=1e-5)
    model = CoCa(**dict(CoCaConfig(**config))).eval()
    randomize(model)
    images = torch.randn(2, 3, 16, 16)
    ids = torch.tensor([[5, 17, 3, 39, 8, 0, 21], [1, 2, 3, 4, 5, 6, 7]])
    with torch.no_grad():
        result = model({"images": images, "input_ids": ids})
    write(name, config, model, {"images": images, "input_ids": ids},
          [(key, result[key]) for key in ("logits", "vision_cls", "text_cls")])


vision_transformer("vit-head")
vision_transformer("vit-tokens", n_classes=None, add_cls_token=False, patch_stride=3, img_size=(13, 10))
vision_transformer("vit-mean-head", add_cls_token=False, bias=False)
coca("coca-swiglu", "swiglu", "default_attention")
coca("coca-gelu-sdpa", "gelu", "pytorch_flash_attention")
