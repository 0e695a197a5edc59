#!/usr/bin/env node
// Writes the gateway's OpenAPI document to packages/api-client/openapi.json (the typed client is
// generated from it); a gateway test fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { GATEWAY_VERSION, openApiDocument } from '../dist/index.js';

const target = new URL('../../../packages/api-client/openapi.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(openApiDocument(GATEWAY_VERSION), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
