"""Folds batch norm into the convolutions and writes the weights the product embeds
(crates/spine-edema/src/segment/bodies.safetensors), as float16 with metadata.

    python3 export_weights.py model.pt ../../crates/spine-edema/src/segment/bodies.safetensors \
        --fitted-on "17 real lumbar T2 (Chu et al. 2015) + 78 phantom exams, seeds 20000-20012"
"""
import argparse, json
import torch
from safetensors.torch import save_file
from net import UNet


def fold(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv.weight * scale[:, None, None, None]
    b = bn.bias - bn.running_mean * scale
    return w, b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--fitted-on", required=True)
    a = ap.parse_args()
    state = torch.load(a.model)
    args = state["args"]
    net = UNet(args["base"], args["depth"])
    net.load_state_dict(state["net"])
    net.eval()
    tensors = {}
    with torch.no_grad():
        blocks = [(f"enc{i}", b) for i, b in enumerate(net.enc)] + [("mid", net.mid)] + \
                 [(f"dec{i}", b) for i, b in enumerate(net.dec)]
        for name, blk in blocks:
            for k, (conv, bn) in enumerate([(blk.c1, blk.b1), (blk.c2, blk.b2)], 1):
                w, b = fold(conv, bn)
                tensors[f"{name}.conv{k}.weight"] = w.half().contiguous()
                tensors[f"{name}.conv{k}.bias"] = b.half().contiguous()
        tensors["out.weight"] = net.out.weight.half().contiguous()
        tensors["out.bias"] = net.out.bias.half().contiguous()
    meta = {"pixel_mm": "1.25", "depth": str(args["depth"]), "base": str(args["base"]),
            "outputs": "body,s1", "iterations": str(args["iters"]), "fitted_on": a.fitted_on,
            "excluded": json.dumps(args["exclude"])}
    save_file(tensors, a.out, metadata=meta)
    print(f"{a.out}: {sum(t.numel() for t in tensors.values())} parameters")


if __name__ == "__main__":
    main()
