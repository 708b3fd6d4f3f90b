/**
 * A masked body as a pull-driven ReadableStream over the source body.
 *
 * Contract: reads the source one chunk per pull, feeds it to a JsonMasker and enqueues what the
 * masker releases; on the masker's MaskError (or a source error) the returned stream errors and
 * the source is cancelled — nothing more is read or emitted. Cancelling the returned stream
 * cancels the source. Compared with `pipeThrough(TransformStream)` it avoids the pipe machinery
 * and its extra queue, and it stops reading the upstream as soon as masking fails.
 */
import { type CompiledMask, JsonMasker, type MaskReport } from './json-mask-stream.ts';

export function maskBody(
  source: ReadableStream<Uint8Array>,
  mask: CompiledMask,
): { body: ReadableStream<Uint8Array>; report: MaskReport } {
  const masker = new JsonMasker(mask);
  const reader = source.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            masker.end();
            controller.close();
            return;
          }
          const parts = masker.push(value);
          for (const part of parts) controller.enqueue(part);
          if (parts.length > 0) return;
          // Everything in this chunk is held or dropped: read on rather than return empty-handed.
        }
      } catch (error) {
        controller.error(error);
        await reader.cancel(error).catch(() => undefined);
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => undefined);
    },
  });
  return { body, report: masker.report };
}
