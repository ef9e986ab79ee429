"""Render a task's frames in a child process: ``python -m worker.render_frames JOB.json``.

JOB.json: {"blend": path, "out_dir": path, "frames": [first, last], "order": {width, height, samples,
denoise, seed}, "format": "png"}. Prints one ``progress <done>/<total> <frame> <seconds>`` line per frame,
so the agent can report progress and a crash loses at most the frame in flight (finished frames are kept
and not rendered again).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[1]).read_text())
    from oracle.angv.render import apply_settings, open_scene, render_to_file

    from inferix.protocol import frame_name

    order = job["order"]
    fmt = job.get("format", "png")
    sc = open_scene(job["blend"])
    apply_settings(sc, order["width"], order["height"], order["samples"], order["denoise"], order.get("seed", 0))
    first, last = job["frames"]
    out_dir = Path(job["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    total = last - first + 1
    for i, frame in enumerate(range(first, last + 1), start=1):
        target = out_dir / frame_name(frame, fmt)
        started = time.monotonic()
        if not target.exists():
            partial = target.with_name(target.name + ".part")
            render_to_file(sc, str(partial), frame, fmt)
            partial.replace(target)
        print(f"progress {i}/{total} {frame} {time.monotonic() - started:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
