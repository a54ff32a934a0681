#!/usr/bin/env node
import { limitHeapGrowth } from '../dist/core/cli/heap-growth.js';
import { main } from '../dist/core/cli/main.js';

// Before any heap grows and before the write threads start (they take the process's V8 flags).
limitHeapGrowth();
process.exit(await main(process.argv));
