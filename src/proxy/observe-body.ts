/**
 * Wrap a response body so the gateway learns how it ended — after the last byte, on an error
 * (e.g. the masker refusing malformed JSON), or when the client went away — and how many bytes
 * the client was sent. Streams; holds at most one chunk (plus what `transform` holds).
 *
 * An optional `transform` (e.g. the paging-link rewrite) runs inline in the same pull, so a
 * response pays for one JavaScript stream layer, not two; bytes are counted after it.
 */
import type { ChunkTransform } from './azure-links.ts';

export type BodyEnd =
  | { kind: 'completed'; bytes: number }
  | { kind: 'errored'; bytes: number; error: unknown }
  | { kind: 'client_aborted'; bytes: number };

export function observeBody(
  body: ReadableStream<Uint8Array>,
  onEnd: (end: BodyEnd) => void,
  transform?: ChunkTransform,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  let ended = false;
  const finish = (end: BodyEnd) => {
    if (!ended) {
      ended = true;
      onEnd(end);
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let emitted = 0;
      const emit = (out: Uint8Array) => {
        if (out.byteLength === 0) return;
        bytes += out.byteLength;
        emitted++;
        controller.enqueue(out);
      };
      try {
        // A pull that enqueues nothing is not called again for the same read, so keep reading
        // until something goes out (a transform may hold a chunk back) or the body ends.
        while (emitted === 0) {
          const { done, value } = await reader.read();
          if (done) {
            transform?.flush(emit);
            finish({ kind: 'completed', bytes });
            controller.close();
            return;
          }
          if (transform) transform.transform(value, emit);
          else emit(value);
        }
      } catch (error) {
        finish({ kind: 'errored', bytes, error });
        controller.error(error);
      }
    },
    async cancel(reason) {
      finish({ kind: 'client_aborted', bytes });
      await reader.cancel(reason).catch(() => undefined);
    },
  });
}
