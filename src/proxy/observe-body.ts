/**
 * Wrap a response body so the gateway learns how it ended — after the last byte, on an error
 * (e.g. the masker refusing malformed JSON), or when the client went away — and how many bytes
 * the client was sent. Streams; holds at most one chunk.
 */
export type BodyEnd =
  | { kind: 'completed'; bytes: number }
  | { kind: 'errored'; bytes: number; error: unknown }
  | { kind: 'client_aborted'; bytes: number };

export function observeBody(
  body: ReadableStream<Uint8Array>,
  onEnd: (end: BodyEnd) => void,
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
      try {
        const { done, value } = await reader.read();
        if (done) {
          finish({ kind: 'completed', bytes });
          controller.close();
          return;
        }
        bytes += value.byteLength;
        controller.enqueue(value);
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
