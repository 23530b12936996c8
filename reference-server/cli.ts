#!/usr/bin/env node
console.error('axp-server: not built yet (see issue 3)');
process.exit(2);
