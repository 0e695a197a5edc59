#!/usr/bin/env node
// Writes src/gen/vmm-api.ts from openapi.json (which the gateway writes: `npm run api:generate`).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { generateTypes } from '../dist/generate.js';

const document = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8'));
const target = new URL('../src/gen/vmm-api.ts', import.meta.url);
mkdirSync(new URL('.', target), { recursive: true });
writeFileSync(target, await generateTypes(document));
console.log(`wrote ${target.pathname}`);
