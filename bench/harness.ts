/**
 * Tiny benchmark harness: runs a function in timed batches and reports per-call statistics.
 * Figures are printed, never asserted: these machines are noisy.
 */
export interface Stats {
  name: string;
  iterations: number;
  medianNs: number;
  p99Ns: number;
  meanNs: number;
}

export async function measure(
  name: string,
  fn: () => unknown | Promise<unknown>,
  options: { batches?: number; batchSize?: number; warmup?: number } = {},
): Promise<Stats> {
  const batches = options.batches ?? 200;
  const batchSize = options.batchSize ?? 100;
  for (let i = 0; i < (options.warmup ?? 1000); i++) await fn();
  const perCall: number[] = [];
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batchSize; i++) await fn();
    perCall.push(Number(process.hrtime.bigint() - start) / batchSize);
  }
  perCall.sort((a, z) => a - z);
  const stats: Stats = {
    name,
    iterations: batches * batchSize,
    medianNs: perCall[Math.floor(perCall.length / 2)] ?? 0,
    p99Ns: perCall[Math.min(perCall.length - 1, Math.floor(perCall.length * 0.99))] ?? 0,
    meanNs: perCall.reduce((a, z) => a + z, 0) / perCall.length,
  };
  return stats;
}

export function report(stats: Stats): void {
  const us = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;
  console.log(
    `${stats.name.padEnd(48)} median ${us(stats.medianNs).padStart(10)}  p99(batch) ${us(stats.p99Ns).padStart(10)}  n=${stats.iterations}`,
  );
}
