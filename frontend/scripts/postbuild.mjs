// After `vite build`: puts back dist/.gitkeep (the one committed file of
// dist/, which Vite's emptyOutDir removes), prints the size of what index.html
// loads at start, raw and gzipped, and fails the build when the JavaScript
// passes the budget (250 KB gzipped).
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
writeFileSync(join(dist, '.gitkeep'), '');
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const srcs = [...html.matchAll(/<(?:script|link)[^>]+(?:src|href)="\/?([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let raw = 0, gz = 0, jsGz = 0;
for (const s of srcs) {
  const b = readFileSync(join(dist, s));
  const g = gzipSync(b, { level: 9 }).length;
  raw += b.length; gz += g;
  if (s.endsWith('.js')) jsGz += g;
  console.log(`  ${s}: ${(b.length / 1024).toFixed(1)} KB, ${(g / 1024).toFixed(1)} KB gzipped`);
}
console.log(`initial load: ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped (JavaScript ${(jsGz / 1024).toFixed(1)} KB gzipped; budget 250 KB)`);
if (jsGz > 250 * 1024) {
  console.error('initial JavaScript over budget');
  process.exit(1);
}
