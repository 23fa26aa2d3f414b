import { describe, expect, it } from "vitest";
import { base64ToBytes, decodeArray, halfToFloat, row } from "../../src/wire/codec";

describe("decodeArray", () => {
  it("decodes int32 from a DataView at an unaligned offset", () => {
    const src = new Int32Array([7, -1, 2147483647]);
    const buf = new Uint8Array(13);
    buf.set(new Uint8Array(src.buffer), 1);
    const arr = decodeArray({ dtype: "int32", shape: [3], data: new DataView(buf.buffer, 1, 12) });
    expect(Array.from(arr.data)).toEqual([7, -1, 2147483647]);
  });

  it("decodes float16 (numpy's little-endian half) to numbers", () => {
    // 1.0, -2.0, 0.5, 0.333 in float16 bits
    const bits = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x3555]);
    const arr = decodeArray({ dtype: "float16", shape: [2, 2], data: bits.buffer });
    expect(arr.shape).toEqual([2, 2]);
    expect(Array.from(arr.data).map((x) => Number(x.toFixed(3)))).toEqual([1, -2, 0.5, 0.333]);
    expect(Array.from(row(arr, 1)).map((x) => Number(x.toFixed(3)))).toEqual([0.5, 0.333]);
  });

  it("decodes base64 (the exported page) to the same values", () => {
    const f = new Float64Array([0.125, 3.5]);
    const b64 = btoa(String.fromCharCode(...new Uint8Array(f.buffer)));
    const arr = decodeArray({ dtype: "float64", shape: [2], data: b64 });
    expect(Array.from(arr.data)).toEqual([0.125, 3.5]);
    expect(Array.from(base64ToBytes(btoa("hi!?")))).toEqual([104, 105, 33, 63]);
  });

  it("rejects a buffer whose size does not match the shape", () => {
    expect(() => decodeArray({ dtype: "int32", shape: [4], data: new ArrayBuffer(12) })).toThrow(/needs 16 bytes, got 12/);
  });

  it("handles half-precision subnormals and infinities", () => {
    expect(halfToFloat(0x0001)).toBeCloseTo(5.96e-8, 10);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
  });
});
