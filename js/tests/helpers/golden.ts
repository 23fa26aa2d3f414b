// The golden fixture Python writes (tests/view/test_golden_state.py): a real
// state and every array in it as numpy reads it.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isRecord } from "../../src/wire/guard";

export interface GoldenArray {
  dtype: "int32" | "float32" | "float16" | "float64" | "uint8";
  shape: number[];
  values: number[];
}

export interface Golden {
  /** The state as the exported page carries it (buffers in base64), still unchecked. */
  state: Record<string, unknown>;
  /** Each wire array by dotted path ("labels", "sweep.labels"), as numpy reads it. */
  arrays: Record<string, GoldenArray>;
}

export const GOLDEN_PATH = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "state.json");

/** A fresh copy of the fixture (tests may change it). */
export function golden(): Golden {
  const fixture: unknown = JSON.parse(readFileSync(GOLDEN_PATH, "utf8"));
  if (!isRecord(fixture) || !isRecord(fixture.state) || !isRecord(fixture.arrays)) {
    throw new Error(`${GOLDEN_PATH} has no state and arrays: rewrite it with .venv/bin/python tests/view/test_golden_state.py`);
  }
  // the arrays are numpy's own reading, written by the same script as the state
  return { state: fixture.state, arrays: fixture.arrays as Record<string, GoldenArray> };
}
