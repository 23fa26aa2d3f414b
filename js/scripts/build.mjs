// Bundle js/src/widget.ts (+ CSS), study/study.ts and standalone.ts (the exported
// page's bootstrap, inlined by attn_widget/view/standalone.py) into
// attn_widget/static/ with esbuild, then copy BertViz's offline dependencies
// (scripts/vendor.mjs, when present).
// Usage: node scripts/build.mjs [--watch]
import { build, context } from "esbuild";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const outdir = resolve(root, "..", "attn_widget", "static");

// widget.ts is the explainer; standalone.ts loads it in an exported page; study/study.ts
// (the user-study widget, attn_widget/study/) when present. The rest of src/ is imported.
const entryPoints = { widget: resolve(root, "src", "widget.ts"), standalone: resolve(root, "src", "standalone.ts") };
const study = resolve(root, "src", "study", "study.ts");
if (existsSync(study)) entryPoints.study = study;

const options = {
  entryPoints,
  outdir,
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: !process.argv.includes("--watch"),
  sourcemap: false,
  legalComments: "none",
  logLevel: "info",
  loader: { ".css": "css" },
};

if (process.argv.includes("--watch")) {
  const ctx = await context(options);
  await ctx.watch();
} else {
  await build(options);
  const vendor = resolve(here, "vendor.mjs");
  if (existsSync(vendor)) {
    const r = spawnSync(process.execPath, [vendor], { stdio: "inherit", cwd: root });
    if (r.status !== 0) process.exit(r.status ?? 1);
  } else {
    console.warn("scripts/vendor.mjs not found: BertViz vendor scripts not copied");
  }
}
