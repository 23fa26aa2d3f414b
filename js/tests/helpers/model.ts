// A model as anywidget hands one to `render`: traits, change events, custom
// messages. Records what the view sends and how often it saves.
import type { Handler, Model, Traits } from "../../src/wire/model";

export interface FakeModel extends Model {
  readonly sent: unknown[];
  readonly saves: number;
  /** Fire a model event as the kernel would ("change:state", "msg:custom"). */
  emit(event: string, ...args: unknown[]): void;
  /** How many listeners are subscribed (all events). */
  listenerCount(): number;
}

export function traitsOf(overrides: Partial<Traits> = {}): Traits {
  return {
    state: null,
    threshold: null,
    threshold_mode: "absolute",
    method: "louvain",
    aggregation: "mean",
    layers: null,
    heads: null,
    selected_cluster: null,
    status: "ready",
    progress: "",
    error: "",
    notices: [],
    methods: ["louvain", "leiden"],
    aggregations: ["mean", "max", "rollout", "layers", "heads"],
    measure: "attention",
    lens: "all",
    links_lens: "",
    measures: ["attention", "norm", "gradient"],
    lenses: ["all", "early", "middle", "late", "content", "coreference"],
    unit: "token",
    zoom: null,
    step: null,
    generation: null,
    comparison: null,
    ablation: null,
    what_if: "",
    ...overrides,
  };
}

export function fakeModel(traits: Traits, extra: { standalone?: boolean } = {}): FakeModel {
  const listeners = new Map<string, Set<Handler>>();
  const sent: unknown[] = [];
  let saves = 0;
  const emit = (event: string, ...args: unknown[]) => listeners.get(event)?.forEach((cb) => cb(...args));
  return {
    ...extra,
    sent,
    get saves() {
      return saves;
    },
    get: (key) => traits[key],
    set: (key, value) => {
      traits[key] = value;
      emit(`change:${String(key)}`);
    },
    save_changes: () => {
      saves++;
    },
    on: (event: string, cb: Handler) => {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)?.add(cb);
    },
    off: (event?: string | null, cb?: Handler | null) => {
      if (event && cb) listeners.get(event)?.delete(cb);
    },
    send: (content: unknown) => {
      sent.push(content);
    },
    emit,
    listenerCount: () => [...listeners.values()].reduce((n, set) => n + set.size, 0),
  };
}
