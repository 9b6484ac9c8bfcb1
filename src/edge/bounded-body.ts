// Request bodies are read with a hard limit: a declared Content-Length above it is refused before
// reading, and a body that grows past it (chunked, or a lying header) is cancelled mid-stream, so
// an oversized upload never sits whole in the isolate's 128 MB.

/** The body's bytes, or `undefined` when it is larger than `limit`. */
export async function readBoundedBody(request: Request, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number.parseInt(request.headers.get('content-length') ?? '', 10);
  if (Number.isFinite(declared) && declared > limit) return undefined;
  if (request.body === null) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
