// Builds the web app into web/dist: one bundled, minified ES module (esbuild), the page and the style sheet,
// and dist/size.json (bytes and gzip bytes of what a browser downloads). Run by `make web`.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  outfile: join(dist, "app.js"),
  legalComments: "none",
  logLevel: "warning",
});
for (const name of ["index.html", "style.css"]) copyFileSync(join(here, name), join(dist, name));
const size = {};
for (const name of readdirSync(dist)) {
  const data = readFileSync(join(dist, name));
  size[name] = { bytes: data.length, gzip: gzipSync(data, { level: 9 }).length };
}
writeFileSync(join(dist, "size.json"), JSON.stringify(size, null, 1) + "\n");
console.log(Object.entries(size).map(([n, s]) => `${n}: ${s.bytes} B (${s.gzip} B gzip)`).join("\n"));
