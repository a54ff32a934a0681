/** Preload for platforms without GNU time: writes this process's peak RSS (kB) to $HTL_BENCH_RSS_FILE on exit. */
import { writeFileSync } from 'node:fs';

const file = process.env.HTL_BENCH_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
