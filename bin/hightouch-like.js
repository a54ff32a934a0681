#!/usr/bin/env node
import { main } from '../dist/core/cli/main.js';

process.exit(await main(process.argv));
