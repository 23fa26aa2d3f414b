// @vitest-environment happy-dom
// The widget module has anywidget's current shape: one default export
// `{ render }` and no named `render` (anywidget >= 0.9 logs "Direct export of a
// 'render' will likely be deprecated" on every render of a module that has one),
// and the exported page's loader (wire/page.ts widgetOf) still finds it.
import { describe, expect, it } from "vitest";
import * as mod from "../src/widget";
import { widgetOf } from "../src/wire/page";
import { fakeModel, traitsOf } from "./helpers/model";

/** What anywidget's loader does with a module (packages/anywidget/src/widget.ts, loadWidget). */
function anywidgetLoads(m: Record<string, unknown>): { warned: boolean; render: unknown } {
  if (m.render) return { warned: true, render: m.render };
  const def = m.default as { render?: unknown };
  return { warned: false, render: def.render };
}

describe("the widget module", () => {
  it("exports only a default object with render, so anywidget loads it without the deprecation warning", () => {
    expect(Object.keys(mod)).toEqual(["default"]);
    const loaded = anywidgetLoads(mod as unknown as Record<string, unknown>);
    expect(loaded.warned).toBe(false);
    expect(typeof loaded.render).toBe("function");
  });

  it("is drawn by the exported page's loader", () => {
    const host = document.createElement("div");
    const cleanup = widgetOf(mod).render({ model: fakeModel(traitsOf()), el: host });
    expect(host.querySelector("[data-testid=attn-widget]")).not.toBeNull();
    expect(typeof cleanup).toBe("function");
    (cleanup as () => void)();
  });
});
