"""Pictures of ANGV for people to look at (docs/angv.md, the demo's report): one carrier's footprint magnified."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def flattest_region(clean: np.ndarray, regions, around: int = 4):
    """The region whose neighbourhood varies least in the clean render: where an imprint shows most."""
    img = clean.astype(np.float32)
    return min(regions, key=lambda r: float(img[max(0, r.y0 - around):r.y0 + r.h + around,
                                                max(0, r.x0 - around):r.x0 + r.w + around].std()))


def footprint_sheet(frames: dict[str, np.ndarray], region, scale: int = 8, pad: int = 6) -> Image.Image:
    """``frames`` (label -> uint8 (H, W, 3), same size) cropped around ``region`` (``pad`` px), magnified ``scale``
    times without smoothing, side by side with their labels."""
    H, W = next(iter(frames.values())).shape[:2]
    y0, y1 = max(0, region.y0 - pad), min(H, region.y0 + region.h + pad)
    x0, x1 = max(0, region.x0 - pad), min(W, region.x0 + region.w + pad)
    big = [Image.fromarray(np.ascontiguousarray(f[y0:y1, x0:x1])).resize(((x1 - x0) * scale, (y1 - y0) * scale),
                                                                         Image.NEAREST) for f in frames.values()]
    gap, label = 12, 18
    sheet = Image.new("RGB", (sum(b.width for b in big) + gap * (len(big) + 1), big[0].height + label + 2 * gap),
                      "white")
    draw = ImageDraw.Draw(sheet)
    x = gap
    for b, text in zip(big, frames):
        sheet.paste(b, (x, gap + label))
        draw.text((x, gap), text, fill="black")
        x += b.width + gap
    return sheet
