// Bounds-checked big/little-endian byte reader and writer shared by every binary parser here.
import { AttestError } from '../errors.ts';
import type { AttestErrorCode } from '../errors.ts';

/** Reads a byte array front to back; any read past the end throws the parser's own error code. */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly code: AttestErrorCode;
  readonly what: string;
  offset = 0;

  constructor(bytes: Uint8Array, code: AttestErrorCode, what: string) {
    this.bytes = bytes;
    this.code = code;
    this.what = what;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  fail(message: string): never {
    throw new AttestError(this.code, `${this.what}: ${message} (at offset ${this.offset}).`);
  }

  take(length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > this.remaining)
      this.fail(`truncated, needs ${length} bytes`);
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u16(): number {
    const b = this.take(2);
    return (b[0]! << 8) | b[1]!;
  }

  u32(): number {
    const b = this.take(4);
    return ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
  }

  u64(): bigint {
    const hi = BigInt(this.u32());
    return (hi << 32n) | BigInt(this.u32());
  }

  u16le(): number {
    const b = this.take(2);
    return b[0]! | (b[1]! << 8);
  }

  u32le(): number {
    const b = this.take(4);
    return ((b[3]! << 24) >>> 0) + ((b[2]! << 16) | (b[1]! << 8) | b[0]!);
  }

  /** A little-endian UINT64 that must fit a safe integer (UEFI lengths, never near 2^53 in real logs). */
  u64le(): number {
    const low = this.u32le();
    const high = this.u32le();
    if (high >= 0x200000) this.fail('64-bit value too large');
    return high * 0x1_0000_0000 + low;
  }

  /** A TPM2B_*: a u16 size then that many bytes, at most `max`. */
  sized(max = 0xffff): Uint8Array {
    const size = this.u16();
    if (size > max) this.fail(`size ${size} exceeds ${max}`);
    return this.take(size);
  }

  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} trailing bytes`);
  }
}

/** Appends values in TPM byte order (big-endian) unless the method says otherwise. */
export class ByteWriter {
  private readonly chunks: Uint8Array[] = [];

  bytes(value: Uint8Array): this {
    this.chunks.push(value);
    return this;
  }

  u8(value: number): this {
    return this.bytes(Uint8Array.of(value & 0xff));
  }

  u16(value: number): this {
    return this.bytes(Uint8Array.of((value >>> 8) & 0xff, value & 0xff));
  }

  u32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value >>> 0);
    return this.bytes(b);
  }

  u64(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(value);
    return this.bytes(b);
  }

  u16le(value: number): this {
    return this.bytes(Uint8Array.of(value & 0xff, (value >>> 8) & 0xff));
  }

  u32le(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0);
    return this.bytes(b);
  }

  u64le(value: number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value));
    return this.bytes(b);
  }

  sized(value: Uint8Array): this {
    return this.u16(value.length).bytes(value);
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
