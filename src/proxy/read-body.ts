/**
 * Read a request body whole, up to a limit — only where a stage must see all of it (an approval
 * binds to the body's hash; a JSON Patch rewrite edits it). Throws a 413 problem as soon as the
 * declared or actual size passes the limit, without reading further. `nullIfEmpty` tells an empty
 * body from one with bytes by reading at most its first chunk.
 */
import { bodyTooLarge } from '../errors.ts';

export async function readBodyCapped(request: Request, limit: number): Promise<ArrayBuffer> {
  return readStreamCapped(request.body, request.headers.get('content-length'), limit);
}

/** The same for a body stream already taken from the request (e.g. wrapped for audit capture). */
export async function readStreamCapped(
  body: ReadableStream<Uint8Array> | null,
  contentLength: string | null,
  limit: number,
): Promise<ArrayBuffer> {
  if (!body) return new ArrayBuffer(0);
  if (Number(contentLength ?? '0') > limit) throw bodyTooLarge(limit);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw bodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes.buffer;
}

/** Resolves to null for a body stream that ends without a byte, else to the same bytes. */
export async function nullIfEmpty(body: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array> | null> {
  const reader = body.getReader();
  let first: ReadableStreamReadResult<Uint8Array>;
  do first = await reader.read();
  while (!first.done && first.value.byteLength === 0);
  if (first.done) return null;
  const head = first.value;
  let sentHead = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sentHead) {
        sentHead = true;
        controller.enqueue(head);
        return;
      }
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
