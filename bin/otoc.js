#!/usr/bin/env node
// The CLI is compiled TypeScript; `npm run build` (or any make target) produces dist/.
import { existsSync } from 'node:fs';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('otoc: not built yet: run `npm run build` in the otoc folder');
  process.exit(2);
}
await import(main.href);
