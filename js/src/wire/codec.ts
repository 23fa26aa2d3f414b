// Decoding of the binary arrays the kernel sends (see attn_widget/view/wire.py).
// Every array travels as { dtype, shape, data } where data is a DataView
// (ipywidgets buffers), an ArrayBuffer, a Uint8Array, or, in exported HTML,
// a base64 string.

export type DType = "int32" | "float32" | "float16" | "float64" | "uint8";

export interface WireArray<D extends DType = DType> {
  dtype: D;
  shape: number[];
  data: DataView | ArrayBuffer | Uint8Array | string;
}

/** The typed array each dtype decodes to (float16 widens to float32). */
export interface TypedOf {
  int32: Int32Array;
  float32: Float32Array;
  float16: Float32Array;
  float64: Float64Array;
  uint8: Uint8Array;
}

export type Typed = TypedOf[DType];

export interface NdArray<T extends Typed = Typed> {
  data: T;
  shape: number[];
}

const BYTES: Record<DType, number> = { int32: 4, float32: 4, float16: 2, float64: 8, uint8: 1 };

/** Decode base64 (standard alphabet, padded) into bytes without atob's Latin-1 detour. */
export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const clean = b64.replace(/[^A-Za-z0-9+/]/g, "");
  const table = new Int16Array(128).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let o = 0;
  for (let i = 0; i + 1 < clean.length; i += 4) {
    const a = table[clean.charCodeAt(i)];
    const b = table[clean.charCodeAt(i + 1)];
    const c = i + 2 < clean.length ? table[clean.charCodeAt(i + 2)] : 0;
    const d = i + 3 < clean.length ? table[clean.charCodeAt(i + 3)] : 0;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = (n >> 16) & 255;
    if (i + 2 < clean.length) out[o++] = (n >> 8) & 255;
    if (i + 3 < clean.length) out[o++] = n & 255;
  }
  return out.subarray(0, o);
}

/** IEEE 754 half precision bits to a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function bytesOf(data: WireArray["data"]): Uint8Array {
  if (typeof data === "string") return base64ToBytes(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Turn a wire array into a typed array (float16 widens to Float32Array).
 * Copies when the bytes are not aligned for the element type. Little-endian,
 * as numpy writes on every platform the kernel runs on.
 */
export function decodeArray<D extends DType>(wire: WireArray<D>): NdArray<TypedOf[D]> {
  const bytes = bytesOf(wire.data);
  const size = BYTES[wire.dtype];
  if (size === undefined) throw new Error(`unsupported dtype ${String(wire.dtype)}`);
  const count = wire.shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== count * size) {
    throw new Error(`array of shape [${wire.shape}] ${wire.dtype} needs ${count * size} bytes, got ${bytes.byteLength}`);
  }
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const buf = aligned.buffer;
  const off = aligned.byteOffset;
  let data: Typed;
  const dtype: DType = wire.dtype;
  switch (dtype) {
    case "int32":
      data = new Int32Array(buf, off, count);
      break;
    case "float32":
      data = new Float32Array(buf, off, count);
      break;
    case "float64":
      data = new Float64Array(buf, off, count);
      break;
    case "uint8":
      data = new Uint8Array(buf, off, count);
      break;
    case "float16": {
      const half = new Uint16Array(buf, off, count);
      const f = new Float32Array(count);
      for (let i = 0; i < count; i++) f[i] = halfToFloat(half[i]);
      data = f;
      break;
    }
  }
  // the switch above made the array type that TypedOf names for this dtype
  return { data: data as TypedOf[D], shape: wire.shape.slice() };
}

/** Row ``i`` of a 2-D array as a view. */
export function row<T extends Typed>(arr: NdArray<T>, i: number): T {
  const width = arr.shape[1];
  return arr.data.subarray(i * width, (i + 1) * width) as T;
}
