/**
 * kafkajs ships only gzip. Backends producing directly to Kafka use snappy, lz4 or zstd too, so
 * every consumer registers these (pure JS / WebAssembly: nothing to compile on install).
 * zstd decompression uses fzstd because Java producers write streaming frames without a content
 * size, which zstd-wasm's one-shot decompress cannot read; zstd-wasm compresses.
 */
import { CompressionCodecs, CompressionTypes } from './client.js';
import SnappyCodec from 'kafkajs-snappy';
import lz4 from 'lz4js';
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
      return Buffer.from(lz4.compress(encoder.buffer));
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
