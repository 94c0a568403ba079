#!/usr/bin/env node
// Compiled by `npm install` (the `prepare` script) into dist/.
import '../dist/cli.js';
