// The exported page's bootstrap, bundled into attn_widget/static/standalone.js
// and inlined by attn_widget/view/standalone.py. It reads what the page
// carries (wire/page.ts), loads the widget's own bundle from it as a blob module
// (the page's Content-Security-Policy allows inline scripts and blob: only, so
// nothing comes from the network), and renders it with a local model that has
// no kernel. A page that cannot be drawn says why in place of the widget.

import { localModel, PAGE_IDS, readPage, widgetOf } from "./wire/page";

async function main(): Promise<void> {
  const page = readPage(document);
  const url = URL.createObjectURL(new Blob([page.bundle], { type: "text/javascript" }));
  const widget = widgetOf(await import(url));
  const model = localModel(page.traits, page.needsKernel);
  const root = document.getElementById(PAGE_IDS.root);
  if (!root) throw new Error(`this page has no #${PAGE_IDS.root} element; export it again with save_html`);
  widget.initialize?.({ model });
  widget.render({ model, el: root });
}

main().catch((e: unknown) => {
  const box = document.createElement("pre");
  box.dataset.testid = "error";
  box.style.whiteSpace = "pre-wrap";
  box.textContent = `This exported page could not draw the widget: ${e instanceof Error ? e.message : String(e)}`;
  (document.getElementById(PAGE_IDS.root) ?? document.body).replaceChildren(box);
});
