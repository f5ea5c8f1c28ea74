"""Fits the body network on planes written by the `export_planes` example.

    python3 fit.py --data planes_real planes_ph --out model.pt --iters 2500

Contrast-agnostic training (the idea of SynthSeg, Billot et al., Med Image Anal 2023):
every sample's intensities are scrambled (random monotone or non-monotone look-up
table, inversion, gamma, bias field, blur, Rician noise), so the network learns shape
and context rather than the T1, STIR or T2 grey levels of the exams it was fitted on.
The real lumbar masks label T11-L5 only: the body loss ignores rows above the top of
T11 and the S1 output is trained on phantoms alone.
"""
import argparse, json, math, os, random, time
import numpy as np
import torch
import torch.nn.functional as F
from net import UNet

CROP = 176


def load(dirs, exclude):
    exams = []
    for root in dirs:
        for name in sorted(os.listdir(root)):
            if name in exclude:
                continue
            d = os.path.join(root, name)
            meta = json.load(open(os.path.join(d, "meta.json")))
            body = np.load(os.path.join(d, "body.npy"))
            s1 = np.load(os.path.join(d, "s1.npy"))
            series = [np.load(os.path.join(d, f)) for f in ("t1.npy", "fluid.npy") if os.path.exists(os.path.join(d, f))]
            content = np.where(body.reshape(body.shape[0], -1).max(1) > 0.5)[0]
            exams.append(dict(name=name, meta=meta, body=body, s1=s1, series=series, content=content,
                              real=not meta["s1_labelled"]))
    return exams


def scramble(x, rng):
    """Random intensity transform of one plane (values ~0-1.5)."""
    x = np.clip(x, 0, 1.5) / 1.5
    if rng.random() < 0.8:
        knots = np.sort(rng.random(6)) if rng.random() < 0.5 else rng.random(6)
        xs = np.linspace(0, 1, 6)
        x = np.interp(x, xs, knots)
    if rng.random() < 0.2:
        x = 1 - x
    x = np.clip(x, 0, 1) ** math.exp(rng.normal(0, 0.35))
    h, w = x.shape
    if rng.random() < 0.7:
        gy, gx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
        c = rng.normal(0, 0.3, 6)
        x = x * np.exp(c[0] * gy + c[1] * gx + c[2] * gy * gx + c[3] * gy**2 + c[4] * gx**2)
    x = x.astype(np.float32)
    if rng.random() < 0.3:
        s = rng.uniform(0.3, 1.2)
        t = torch.from_numpy(x)[None, None]
        k = int(math.ceil(3 * s))
        g = torch.exp(-torch.arange(-k, k + 1, dtype=torch.float32) ** 2 / (2 * s * s))
        g = g / g.sum()
        t = F.conv2d(F.pad(t, (k, k, 0, 0), mode="replicate"), g.view(1, 1, 1, -1))
        t = F.conv2d(F.pad(t, (0, 0, k, k), mode="replicate"), g.view(1, 1, -1, 1))
        x = t[0, 0].numpy()
    if rng.random() < 0.7:
        sd = rng.uniform(0.0, 0.08)
        x = np.sqrt((x + rng.normal(0, sd, x.shape)) ** 2 + rng.normal(0, sd, x.shape) ** 2)
    # The inference-time percentile normalisation, redone on the transformed plane.
    lo, hi = np.percentile(x, [1, 99.5])
    return np.clip((x - lo) / max(hi - lo, 1e-3), 0, 1.5).astype(np.float32)


def sample(exams, rng, real_share):
    real = [e for e in exams if e["real"]]
    ph = [e for e in exams if not e["real"]]
    pool = real if (real and (not ph or rng.random() < real_share)) else ph
    e = pool[rng.integers(len(pool))]
    img = e["series"][rng.integers(len(e["series"]))]
    if len(e["content"]) and rng.random() < 0.8:
        k = int(e["content"][rng.integers(len(e["content"]))])
    else:
        k = int(rng.integers(img.shape[0]))
    x = img[k]
    body = e["body"][k]
    s1 = e["s1"][k]
    wb = np.ones_like(body)
    ws = np.full_like(body, 0.0 if e["real"] else 1.0)
    top = e["meta"].get("unlabelled_above_row")
    if top is not None:
        wb[: max(top - 3, 0)] = 0.0
    return np.stack([x, body, s1, wb, ws])


def warp(batch, rng):
    """Random crop with scale +-15 %, rotation +-12 degrees and shift, as one affine."""
    out = []
    for s in batch:
        c, h, w = s.shape
        t = torch.from_numpy(s)[None]
        ang = math.radians(rng.uniform(-12, 12))
        sc = math.exp(rng.uniform(-0.15, 0.15))
        # Output crop CROP x CROP pixels; normalised coordinates of the input.
        cy = rng.uniform(0.25, 0.75) * h
        cx = rng.uniform(0.3, 0.7) * w
        a = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]]) * sc
        theta = np.zeros((2, 3), np.float32)
        theta[0, 0] = a[1, 1] * CROP / w
        theta[0, 1] = a[1, 0] * CROP / w
        theta[1, 0] = a[0, 1] * CROP / h
        theta[1, 1] = a[0, 0] * CROP / h
        theta[0, 2] = 2 * cx / w - 1
        theta[1, 2] = 2 * cy / h - 1
        grid = F.affine_grid(torch.from_numpy(theta)[None], (1, c, CROP, CROP), align_corners=False)
        out.append(F.grid_sample(t, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0])
    return torch.stack(out)


def loss_fn(logits, target, weight):
    """BCE over every weighted pixel plus soft Dice over the samples that contain the
    structure. Soft Dice on a crop without it asks for zero probability on every pixel
    at once; with S1 absent from most crops that term alone silenced the S1 output."""
    bce = F.binary_cross_entropy_with_logits(logits, target, weight=weight, reduction="sum") / weight.sum().clamp(min=1)
    p = torch.sigmoid(logits) * weight
    t = target * weight
    dims = (1, 2)
    inter = (p * t).sum(dims)
    dice = 1 - (2 * inter + 1) / (p.sum(dims) + t.sum(dims) + 1)
    has = t.sum(dims) >= 1
    return bce + (dice[has].mean() if has.any() else 0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--exclude", nargs="*", default=[])
    ap.add_argument("--out", required=True)
    ap.add_argument("--iters", type=int, default=2500)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--base", type=int, default=16)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--real-share", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    exams = load(args.data, set(args.exclude))
    print(f"{len(exams)} exams ({sum(e['real'] for e in exams)} real)", flush=True)
    net = UNet(args.base, args.depth)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.iters, pct_start=0.05)
    start = 0
    ck = args.out + ".ck"
    if os.path.exists(ck):
        state = torch.load(ck)
        net.load_state_dict(state["net"]); opt.load_state_dict(state["opt"]); sched.load_state_dict(state["sched"])
        start = state["it"]
        print(f"resumed at {start}", flush=True)
    t0 = time.time()
    run = 0.0
    for it in range(start, args.iters):
        batch = warp([sample(exams, rng, args.real_share) for _ in range(args.batch)], rng)
        # Intensities scrambled after cropping (cheaper, and the percentiles are then the
        # crop's, a harder normalisation than the whole volume's the product uses).
        for b in range(batch.shape[0]):
            batch[b, 0] = torch.from_numpy(scramble(batch[b, 0].numpy(), rng))
        x, body, s1, wb, ws = batch[:, 0:1], batch[:, 1], batch[:, 2], batch[:, 3], batch[:, 4]
        logits = net(x)
        loss = loss_fn(logits[:, 0], body.clamp(0, 1), wb) + 0.5 * loss_fn(logits[:, 1], s1.clamp(0, 1), ws)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run = 0.98 * run + 0.02 * loss.item() if it > start else loss.item()
        if (it + 1) % 50 == 0:
            print(f"it {it + 1} loss {run:.4f} {time.time() - t0:.0f}s", flush=True)
        if (it + 1) % 250 == 0 or it + 1 == args.iters:
            torch.save(dict(net=net.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(), it=it + 1,
                            args=vars(args), exams=[e["name"] for e in exams]), ck)
    torch.save(dict(net=net.state_dict(), args=vars(args), exams=[e["name"] for e in exams]), args.out)


if __name__ == "__main__":
    main()
