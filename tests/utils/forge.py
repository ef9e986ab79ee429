"""A forger, for the demo's cheating worker (:mod:`tests.utils.cheater`) and for tests: images of the right size
and format that were never rendered (a smooth gradient with mild noise). Proof of rendering must reject them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inferix.protocol import frame_name


def forge_frames(out_dir: Path, first: int, last: int, order: dict) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    w, h = int(order["width"]), int(order["height"])
    rng = np.random.default_rng(first)
    y, x = np.mgrid[0:h, 0:w]
    for frame in range(first, last + 1):
        base = (x / max(w - 1, 1) * 160 + y / max(h - 1, 1) * 60 + frame)[..., None]
        img = np.clip(base + rng.normal(0, 3, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(out_dir / frame_name(frame, order.get("format", "png")))
