"""The body network: a small 2-D U-Net on one sagittal plane (one channel in, two
probabilities out: vertebral body T1-L5, and the S1 body).

The Rust forward pass (crates/spine-edema/src/segment/network.rs) mirrors this module
layer by layer after batch norm is folded into the convolutions (export_weights.py):
3x3 convolutions with zero padding, ReLU, 2x2 max pooling, bilinear x2 upsampling
(align_corners=False), concatenation [upsampled, skip], 1x1 output convolution, sigmoid.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(x)))


class UNet(nn.Module):
    def __init__(self, base=16, depth=3, outputs=2):
        super().__init__()
        ch = [base * 2**i for i in range(depth + 1)]
        self.depth = depth
        self.enc = nn.ModuleList([Block(1 if i == 0 else ch[i - 1], ch[i]) for i in range(depth)])
        self.mid = Block(ch[depth - 1], ch[depth])
        self.dec = nn.ModuleList([Block(ch[i + 1] + ch[i], ch[i]) for i in range(depth)])
        self.out = nn.Conv2d(ch[0], outputs, 1)

    def forward(self, x):
        skips = []
        for blk in self.enc:
            x = blk(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.mid(x)
        for i in reversed(range(self.depth)):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = self.dec[i](torch.cat([x, skips[i]], 1))
        return self.out(x)  # logits
