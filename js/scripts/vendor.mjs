// Copy BertViz's three browser dependencies from node_modules into
// attn_widget/static/vendor/, so the drill-down (attn_widget/drilldown.py)
// inlines them and never loads anything from a CDN.
//
// BertViz 1.4's head/model views ask require.js for d3 5.7.0 and jQuery 2.0.0;
// 2.0.0 is not on npm, 2.1.0 is API-compatible for what BertViz uses.
//
// Usage:  node scripts/vendor.mjs [--from DIR]     (run from js/, `npm run build` does)
//   DIR (or $ATTN_VENDOR_FROM) is a folder that holds node_modules/ (or is one);
//   default: js/ itself. Fails loudly when a package is missing or the wrong version.

import { createRequire } from "node:module";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const JS_DIR = resolve(HERE, "..");
const OUT_DIR = resolve(JS_DIR, "..", "attn_widget", "static", "vendor");

/** name, exact version, file inside the package, name written to OUT_DIR */
export const VENDOR = [
  { name: "requirejs", version: "2.3.6", file: "require.js", out: "require.js" },
  { name: "d3", version: "5.7.0", file: "dist/d3.min.js", out: "d3.min.js" },
  { name: "jquery", version: "2.1.0", file: "dist/jquery.min.js", out: "jquery.min.js" },
];

function fail(message) {
  console.error(`vendor.mjs: ${message}`);
  process.exit(1);
}

function sourceDir(argv) {
  const i = argv.indexOf("--from");
  if (i >= 0 && !argv[i + 1]) fail("--from needs a folder (one that holds node_modules/)");
  let dir = resolve(i >= 0 ? argv[i + 1] : process.env.ATTN_VENDOR_FROM || JS_DIR);
  if (basename(dir) === "node_modules") dir = dirname(dir);
  if (!existsSync(join(dir, "node_modules"))) {
    fail(`no node_modules/ in ${dir}; run \`npm install\` in js/ (or pass --from DIR)`);
  }
  return dir;
}

function locate(fromDir, pkg) {
  // Resolve like Node does from `fromDir` (walks up node_modules folders), via
  // package.json because requirejs's "main" is the optimizer, not require.js.
  const require = createRequire(join(fromDir, "noop.js"));
  let manifest;
  try {
    manifest = require.resolve(`${pkg.name}/package.json`);
  } catch {
    fail(`${pkg.name}@${pkg.version} is not installed under ${fromDir}; run \`npm install\` in js/`);
  }
  const { version } = JSON.parse(readFileSync(manifest, "utf8"));
  if (version !== pkg.version) {
    fail(`${pkg.name} is ${version} in ${dirname(manifest)}, BertViz needs exactly ${pkg.version}`);
  }
  const file = join(dirname(manifest), pkg.file);
  if (!existsSync(file)) fail(`${pkg.name}@${version} has no ${pkg.file} (${file})`);
  return file;
}

function main() {
  const fromDir = sourceDir(process.argv.slice(2));
  const files = VENDOR.map((pkg) => [pkg, locate(fromDir, pkg)]);
  mkdirSync(OUT_DIR, { recursive: true });
  const manifest = {};
  for (const [pkg, file] of files) {
    copyFileSync(file, join(OUT_DIR, pkg.out));
    manifest[pkg.name] = { version: pkg.version, file: pkg.out };
  }
  writeFileSync(join(OUT_DIR, "versions.json"), JSON.stringify(manifest, null, 2) + "\n");
  console.log(`vendor.mjs: copied ${files.map(([p]) => `${p.name}@${p.version}`).join(", ")} to ${OUT_DIR}`);
}

main();
