/**
 * kafkajs ships only gzip. Backends producing directly to Kafka use snappy, lz4 or zstd too, so
 * every consumer registers these (pure JS / WebAssembly: nothing to compile on install).
 * zstd decompression uses fzstd because Java producers write streaming frames without a content
 * size, which zstd-wasm's one-shot decompress cannot read; zstd-wasm compresses.
 */
import { CompressionCodecs, CompressionTypes } from './client.js';
import SnappyCodec from 'kafkajs-snappy';
import * as lz4 from 'lz4js';
import * as xxh32 from 'lz4js/xxh32.js';
import { decompress as zstdDecompress } from 'fzstd';
import { init as zstdInit, compress as zstdCompress } from '@bokuweb/zstd-wasm';

interface Encoder {
  buffer: Buffer;
}

let zstdReady: Promise<void> | undefined;

export function registerCodecs(): void {
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    async compress(encoder: Encoder) {
      return lz4Frame(encoder.buffer);
    },
    async decompress(buffer: Buffer) {
      return Buffer.from(lz4.decompress(buffer));
    },
  });
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    async compress(encoder: Encoder) {
      zstdReady ??= zstdInit();
      await zstdReady;
      return Buffer.from(zstdCompress(encoder.buffer, 3));
    },
    async decompress(buffer: Buffer) {
      return Buffer.from(zstdDecompress(buffer));
    },
  });
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK = 64 * 1024;

/**
 * An LZ4 frame as Kafka's broker accepts it: version 1, independent 64 KB blocks, no content size
 * or checksums. (lz4js's own frames use dependent blocks, which the broker rejects.)
 */
export function lz4Frame(src: Buffer): Buffer {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0]);
  header.writeUInt32LE(LZ4_MAGIC, 0);
  header[6] = (xxh32.hash(0, header, 4, 2) >>> 8) & 0xff;
  const parts: Buffer[] = [header];
  for (let at = 0; at < src.length; at += LZ4_BLOCK) {
    const block = src.subarray(at, Math.min(src.length, at + LZ4_BLOCK));
    const out = Buffer.alloc(lz4.compressBound(block.length));
    const size = lz4.compressBlock(block, out, 0, block.length, new Uint32Array(1 << 16));
    const sizeField = Buffer.alloc(4);
    if (size === 0 || size >= block.length) {
      sizeField.writeUInt32LE((0x80000000 | block.length) >>> 0);
      parts.push(sizeField, block);
    } else {
      sizeField.writeUInt32LE(size);
      parts.push(sizeField, out.subarray(0, size));
    }
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}
