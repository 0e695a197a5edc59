#!/usr/bin/env node
// `npm start` will run gateway + CPU worker (+ batch runner) as separate processes on loopback.
// Those apps land with the "Worker service" and "Gateway" issues, which replace this script;
// until then it says so plainly rather than pretending to start a server.
console.error(
  'npm start: there is no server to start yet (apps/worker and apps/gateway are not built). ' +
    '`npm test` runs what exists.',
);
process.exit(1);
