"""Reference outputs of the embedded weights for the Rust forward-pass test
(crates/spine-edema/tests/network_golden.rs): the same synthetic plane through PyTorch,
with the float16 weights widened to float32 exactly as the Rust side does.

    python3 golden.py ../../crates/spine-edema/src/segment/bodies.safetensors \
        ../../crates/spine-edema/tests/reference/network_golden.json
"""
import json, math, sys
import torch
import torch.nn.functional as F
from safetensors.torch import safe_open

H, W = 40, 56


def plane():
    return torch.tensor([[0.5 + 0.45 * math.sin(0.31 * r + 0.17 * c) * math.cos(0.07 * r * c / 10)
                          for c in range(W)] for r in range(H)], dtype=torch.float32)


def main():
    path, out = sys.argv[1], sys.argv[2]
    with safe_open(path, "pt") as f:
        meta = f.metadata()
        t = {k: f.get_tensor(k).float() for k in f.keys()}
    depth = int(meta["depth"])

    def block(x, name):
        x = F.relu(F.conv2d(x, t[f"{name}.conv1.weight"], t[f"{name}.conv1.bias"], padding=1))
        return F.relu(F.conv2d(x, t[f"{name}.conv2.weight"], t[f"{name}.conv2.bias"], padding=1))

    x = plane()[None, None]
    skips = []
    with torch.no_grad():
        for i in range(depth):
            x = block(x, f"enc{i}")
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = block(x, "mid")
        for i in reversed(range(depth)):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skips[i]], 1), f"dec{i}")
        p = torch.sigmoid(F.conv2d(x, t["out.weight"], t["out.bias"]))[0]
    json.dump({"height": H, "width": W, "probabilities": p.flatten().tolist()}, open(out, "w"))
    print(f"{out}: {p.shape}")


if __name__ == "__main__":
    main()
