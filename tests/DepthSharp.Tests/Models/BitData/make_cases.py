"""Writes the BiT cases of this folder with the reference's own BiT modules.

Usage: python3 make_cases.py PATH/TO/transformers/models/bit/modeling_bit.py

The reference file is executed as it is, from its first function to the end of BitEncoder, with the package-relative
names it imports (ACT2FN, the output dataclass) stood in for; nothing of it is copied here. Each case is a
config.json (the BiT config as DPT-Hybrid's backbone_config) and case.safetensors: the weights under bit.*, the input
pixel_values and hidden.{i}, the stem's and each stage's output, as the reference computes them in float32.
"""

import json
import os
import struct
import sys
from types import SimpleNamespace

import torch
from torch import nn

source = open(sys.argv[1]).read()
start = source.index("def get_padding_value(")
end = source.index("class BitPreTrainedModel(")
end = source.rindex("\n@", 0, end)
names = {
    "__name__": "modeling_bit_cases",
    "collections": __import__("collections"),
    "math": __import__("math"),
    "np": __import__("numpy"),
    "torch": torch,
    "nn": nn,
    "Tensor": torch.Tensor,
    "Optional": __import__("typing").Optional,
    "ACT2FN": {"relu": nn.ReLU(), "gelu": nn.GELU(), "silu": nn.SiLU()},
    "BaseModelOutputWithNoAttention": lambda **kw: SimpleNamespace(**kw),
    "BitConfig": object,
}
exec(compile(source[start:end], sys.argv[1], "exec"), names)

CASES = {
    # Pre-activation units, PyTorch's symmetric padding, the stem's one-pixel border and unpadded pool; odd sizes.
    "preactivation_symmetric": (
        dict(layer_type="preactivation", global_padding=None, embedding_dynamic_padding=False, depths=[1, 2, 1],
             hidden_sizes=[16, 24, 32], embedding_size=8, num_groups=4, hidden_act="relu", output_stride=32),
        (1, 3, 45, 38)),
    # Bottleneck units with "SAME" padding and output stride 8: the third stage dilates (1 in its first unit, 2 after).
    "bottleneck_dilated": (
        dict(layer_type="bottleneck", global_padding="SAME", embedding_dynamic_padding=True, depths=[1, 2, 2],
             hidden_sizes=[16, 24, 32], embedding_size=8, num_groups=4, hidden_act="gelu", output_stride=8),
        (2, 3, 37, 50)),
    # Pre-activation units under "SAME" and output stride 4: no stage strides, and the dilation they are given is unused.
    "preactivation_same_stride4": (
        dict(layer_type="preactivation", global_padding="SAME", embedding_dynamic_padding=False, depths=[1, 1, 2],
             hidden_sizes=[16, 24, 32], embedding_size=8, num_groups=2, hidden_act="silu", output_stride=4),
        (1, 3, 33, 29)),
}


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


for seed, (name, (settings, shape)) in enumerate(CASES.items()):
    torch.manual_seed(seed)
    config = SimpleNamespace(num_channels=3, width_factor=1, drop_path_rate=0.0, **settings)
    if config.global_padding is not None:
        config.global_padding = config.global_padding.upper()
    model = nn.Module()
    model.embedder = names["BitEmbeddings"](config)
    model.encoder = names["BitEncoder"](config)
    if config.layer_type == "preactivation":
        model.norm = names["BitGroupNormActivation"](config, num_channels=config.hidden_sizes[-1])
    model.eval()
    with torch.no_grad():
        # Norms off their initial unit scale and zero shift, so that a weight or bias read wrongly shows.
        for module in model.modules():
            if isinstance(module, nn.GroupNorm):
                module.weight.copy_(1 + 0.2 * torch.randn_like(module.weight))
                module.bias.copy_(0.2 * torch.randn_like(module.bias))
            elif isinstance(module, nn.Conv2d):
                module.weight.normal_()
        pixel_values = torch.randn(*shape)
        out = model.encoder(model.embedder(pixel_values), output_hidden_states=True)
        # Well conditioned, as the shared fixtures are: float64 gives the same maps to within 2e-5 (relative L2).
        wide = model.double().encoder(model.embedder(pixel_values.double()), output_hidden_states=True)
        model.float()
    for h, h64 in zip(out.hidden_states, wide.hidden_states):
        error = ((h.double() - h64).norm() / (h64 - h64.mean()).norm()).item()
        assert error <= 2e-5, f"{name}: float32 and float64 differ by {error:.2e}"
    tensors = {f"bit.{k}": v for k, v in model.state_dict().items()}
    tensors["pixel_values"] = pixel_values
    for i, h in enumerate(out.hidden_states):
        tensors[f"hidden.{i}"] = h
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    os.makedirs(folder, exist_ok=True)
    write_safetensors(f"{folder}/case.safetensors", tensors)
    backbone = dict(model_type="bit", num_channels=3, width_factor=1, drop_path_rate=0.0, **settings,
                    out_features=["stem"] + [f"stage{i + 1}" for i in range(len(settings["depths"]))])
    with open(f"{folder}/config.json", "w") as f:
        json.dump({"model_type": "dpt", "is_hybrid": True, "backbone_config": backbone}, f, indent=2)
        f.write("\n")
    print(name, [tuple(h.shape) for h in out.hidden_states], f"float32 vs float64 within {error:.1e} at the last map")
