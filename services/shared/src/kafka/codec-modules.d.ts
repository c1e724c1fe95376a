// These small codec packages ship no types.
declare module 'kafkajs-snappy' {
  const codec: () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> };
  export default codec;
}
declare module 'lz4js' {
  export function compress(src: Uint8Array): Uint8Array;
  export function decompress(src: Uint8Array): Uint8Array;
}
