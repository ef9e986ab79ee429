"""What a person waits for when they open the web app: the built JavaScript's size (bytes and gzip) and the first
render on a running stack, cold (empty cache) and warm (reloaded), in Debian's Chromium.

    python -m benchmarks.dapp_load               # 5 cold and 5 warm loads of each page
    python -m benchmarks.dapp_load --runs 10

It starts the local stack the demo uses (anvil, js-ipfs, the contracts, the manager serving the app at /app/;
``inferix.testing.stack``), builds the app if needed (``node web/build.mjs``) and, for each page, opens it in a
fresh browser context (cold: nothing cached) and then reloads it (warm). Per load it reads from the browser's own
timings: the first contentful paint (the page's first pixels: the app's shell), and the time until the page's
heading is on screen (the network config read from ``/v1/network`` and the page's first data from the API and
the chain). It prints one markdown table (median and worst over the runs), side by side for every page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from inferix.protocol import IFX  # noqa: E402
from inferix.testing.stack import Stack  # noqa: E402

PAGES = [("New job", ""), ("Network", "network"), ("Explorer", "explorer"), ("Governance", "governance"),
         ("Node", "node")]
MANAGER = 1


def measure(page, url: str, reload: bool) -> tuple[float, float]:
    """(first contentful paint, heading visible) in ms since the navigation started."""
    start = time.perf_counter()
    if reload:
        page.reload()
    else:
        page.goto(url)
    page.locator("main h1").first.wait_for(state="visible", timeout=30_000)
    ready = (time.perf_counter() - start) * 1000
    fcp = page.evaluate("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null")
    return (fcp if fcp is not None else float("nan")), ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if not (ROOT / "web" / "dist" / "index.html").is_file():
        subprocess.run(["node", "web/build.mjs"], cwd=ROOT, check=True)
    size = json.loads((ROOT / "web" / "dist" / "size.json").read_text())
    net = Stack(Path(tempfile.mkdtemp(prefix="dapp-load-")))
    rows = []
    try:
        net.start()
        net.fund({MANAGER: 5_000 * IFX})
        net.start_manager(MANAGER)
        net.wait_api()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for name, path in PAGES:
                cold, warm = [], []
                for _ in range(args.runs):
                    context = browser.new_context(viewport={"width": 1100, "height": 900})
                    page = context.new_page()
                    url = f"{net.api_url}/app/#/{path}"
                    cold.append(measure(page, url, reload=False))
                    warm.append(measure(page, url, reload=True))
                    context.close()
                rows.append((name, cold, warm))
            browser.close()
    finally:
        net.stop_all()

    total = sum(v["bytes"] for v in size.values())
    gzip = sum(v["gzip"] for v in size.values())
    print(f"Built app (web/dist): {total:,} bytes, {gzip:,} bytes gzip "
          + "; ".join(f"{k} {v['bytes']:,} B ({v['gzip']:,} B gzip)" for k, v in sorted(size.items())) + "\n")
    print(f"{args.runs} loads per page on the local stack, Chromium headless; ms since navigation start, median (worst)\n")
    print("| page | first paint, cold | page ready, cold | first paint, warm | page ready, warm |")
    print("|---|---|---|---|---|")

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.0f} ({max(values):.0f})"

    for name, cold, warm in rows:
        print(f"| {name} | {cell([c[0] for c in cold])} | {cell([c[1] for c in cold])} | "
              f"{cell([w[0] for w in warm])} | {cell([w[1] for w in warm])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
