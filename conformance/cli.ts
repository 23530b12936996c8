#!/usr/bin/env node
console.error('axp-conformance: not built yet (see issue 5)');
process.exit(2);
