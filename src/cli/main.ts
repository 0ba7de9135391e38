#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('lyve-replicator')
  .description('Keep an S3-compatible bucket (Seagate Lyve Cloud first) an exact copy of AWS S3 buckets.')
  .version(version);

await program.parseAsync(process.argv);
