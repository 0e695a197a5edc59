// The child process of writeInChild: reads { name, args } on stdin, runs that writer, prints its
// result as JSON.
import { readFileSync } from 'node:fs';
import { type ChildWriters, childWriters } from './write-in-child.js';

const job = JSON.parse(readFileSync(0, 'utf8')) as { name: keyof ChildWriters; args: unknown[] };
const writer = childWriters[job.name] as (...args: unknown[]) => unknown;
if (typeof writer !== 'function') throw new Error(`no fixture writer named ${String(job.name)}`);
process.stdout.write(JSON.stringify(writer(...job.args)));
