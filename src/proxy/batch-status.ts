/**
 * The status of each embedded request, read from a batch response on its way to the client.
 *
 * Contract: a `ChunkTransform` that passes every byte through unchanged and keeps a bounded copy
 * (`BATCH_STATUS_CAP`); after the last byte, `statuses()` parses the copy and returns each entry's
 * status by its name (ARM `name` → `httpStatusCode`) or id (Graph `id` → `status`) — never by
 * position, since the upstream may answer in any order — or undefined when the response was
 * larger than the cap or is not a batch response. It sees the bytes the client receives (already
 * masked), so it holds no secret the client would not.
 */
import type { ChunkTransform } from './azure-links.ts';

export const BATCH_STATUS_CAP = 512 * 1024;

export function batchStatusTap(dialect: 'arm' | 'graph'): {
  transform: ChunkTransform;
  statuses(): Map<string, number> | undefined;
} {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let overflow = false;
  return {
    transform: {
      transform(chunk, emit) {
        if (!overflow) {
          size += chunk.byteLength;
          if (size > BATCH_STATUS_CAP) {
            overflow = true;
            chunks.length = 0;
          } else chunks.push(chunk.slice());
        }
        emit(chunk);
      },
      flush() {},
    },
    statuses() {
      if (overflow) return undefined;
      const bytes = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
      let document: unknown;
      try {
        document = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        return undefined;
      }
      const responses = (document as { responses?: unknown })?.responses;
      if (!Array.isArray(responses)) return undefined;
      const out = new Map<string, number>();
      for (const entry of responses) {
        const key = dialect === 'arm' ? entry?.name : entry?.id;
        const status = dialect === 'arm' ? entry?.httpStatusCode : entry?.status;
        if (typeof key === 'string' && typeof status === 'number' && !out.has(key)) out.set(key, status);
      }
      return out;
    },
  };
}

/** Two byte transforms in sequence (the first may be absent). */
export function chainTransforms(first: ChunkTransform | undefined, second: ChunkTransform): ChunkTransform {
  if (!first) return second;
  return {
    transform(chunk, emit) {
      first.transform(chunk, (out) => second.transform(out, emit));
    },
    flush(emit) {
      first.flush((out) => second.transform(out, emit));
      second.flush(emit);
    },
  };
}
