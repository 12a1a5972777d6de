#!/usr/bin/env node
// The kconv command. All of it lives in dist/cli (built from src/cli by `npm run build`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
