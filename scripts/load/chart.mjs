// Draw docs/load-chart.svg from bench/results/load-latest.json: throughput and latency
// percentiles, gateway vs bare pass-through Worker (same run, same machine).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../dev-stack/stack.mjs';

const results = JSON.parse(readFileSync(join(ROOT, 'bench/results/load-latest.json'), 'utf8'));
const { bare, gateway } = results.baseline;
const panels = [
  { title: 'throughput (req/s)', metrics: [['req/s', 'rps']] },
  {
    title: 'latency (ms)',
    metrics: [
      ['p50', 'p50'],
      ['p90', 'p90'],
      ['p99', 'p99'],
    ],
  },
];
const colors = { bare: '#8c8c8c', gateway: '#1f6feb' };
const width = 720;
const height = 300;
const panelWidth = width / 2;
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12" role="img">\n`;
svg += `<title>Throughput and latency: Edgeward vs a bare pass-through Worker</title>\n`;
svg += `<rect width="100%" height="100%" fill="white"/>\n`;
svg += `<text x="10" y="18" font-size="14">Edgeward vs bare pass-through Worker — ${results.settings.concurrency} concurrent, ${results.date.slice(0, 10)}</text>\n`;
panels.forEach((panel, p) => {
  const x0 = p * panelWidth + 40;
  const chartHeight = 200;
  const y0 = 260;
  const max = Math.max(...panel.metrics.flatMap(([, key]) => [bare[key], gateway[key]])) * 1.15;
  svg += `<text x="${x0}" y="45">${panel.title}</text>\n`;
  svg += `<line x1="${x0}" y1="${y0}" x2="${x0 + panelWidth - 60}" y2="${y0}" stroke="black"/>\n`;
  const group = (panelWidth - 60) / panel.metrics.length;
  panel.metrics.forEach(([label, key], m) => {
    [
      ['bare', bare],
      ['gateway', gateway],
    ].forEach(([name, data], b) => {
      const value = data[key];
      const h = (value / max) * chartHeight;
      const x = x0 + m * group + 10 + b * (group / 2 - 8);
      svg += `<rect x="${x.toFixed(1)}" y="${(y0 - h).toFixed(1)}" width="${(group / 2 - 12).toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[name]}"/>\n`;
      svg += `<text x="${x.toFixed(1)}" y="${(y0 - h - 4).toFixed(1)}" font-size="10">${value.toFixed(value >= 100 ? 0 : 1)}</text>\n`;
    });
    svg += `<text x="${(x0 + m * group + group / 2 - 10).toFixed(1)}" y="${y0 + 16}">${label}</text>\n`;
  });
});
svg += `<rect x="${width - 200}" y="30" width="12" height="12" fill="${colors.bare}"/><text x="${width - 183}" y="40">bare Worker</text>\n`;
svg += `<rect x="${width - 200}" y="48" width="12" height="12" fill="${colors.gateway}"/><text x="${width - 183}" y="58">Edgeward</text>\n`;
svg += '</svg>\n';
writeFileSync(join(ROOT, 'docs/load-chart.svg'), svg);
console.log('wrote docs/load-chart.svg');
