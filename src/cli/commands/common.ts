import { homedir } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { MiB } from '../../engine/limits.js';
import { createKeyFilter } from '../../filters/key-filter.js';
import { CONNECTION_HELP, type ConnectionOptions } from '../connections.js';
import { UsageError } from '../errors.js';

export interface CommonOptions extends ConnectionOptions {
  include?: string[];
  exclude?: string[];
  json?: boolean;
}

export function positiveInteger(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) throw new UsageError(`${name} "${value}" must be a whole number from 1 to ${max}`);
    return n;
  };
}

/** A region name as S3 endpoints take it (one DNS label: letters, digits, hyphens). */
export function regionName(name: string) {
  return (value: string): string => {
    const region = value.trim();
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(region)) {
      throw new UsageError(`${name} "${value}" is not a region name: write it as the service names it, e.g. us-east-1`);
    }
    return region;
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The connection, filter and output flags of sync and verify. */
export function addCommonOptions(command: Command): Command {
  command
    .option('--include <glob>', 'only keys matching this glob, relative to the source prefix (repeatable; ** spans /)', collect)
    .option('--exclude <glob>', 'skip keys matching this glob (repeatable)', collect)
    .option('--concurrency <n>', 'objects and parts in flight', positiveInteger('--concurrency', 256), 16)
    .option('--json', 'print a machine-readable report on stdout')
    .option('--source-endpoint <url>', 'S3-compatible source endpoint (default: AWS, or AWS_ENDPOINT_URL_S3)')
    .option('--source-profile <name>', 'AWS profile for the source')
    .option('--source-region <region>', 'source region', regionName('--source-region'));
  return addTargetOptions(command).addHelpText('after', CONNECTION_HELP);
}

/** How to reach the target: the flags every command that writes to or reads the target shares. */
export function addTargetOptions(command: Command): Command {
  return command
    .option('--target-endpoint <url>', 'target endpoint (default: LC_ENDPOINT_URL)')
    .option('--target-profile <name>', 'profile in ~/.aws/credentials holding the target keys')
    .option('--target-secret-id <id>', 'Secrets Manager secret with lc_access_key, lc_secret_key, lc_endpoint_url')
    .option('--target-region <region>', 'target region', regionName('--target-region'), 'us-east-1')
    .addOption(new Option('--allow-insecure-http', 'allow plain http:// endpoints on non-loopback hosts'));
}

export function keyFilter(options: CommonOptions): (key: string) => boolean {
  try {
    return createKeyFilter({ include: options.include ?? [], exclude: options.exclude ?? [] });
  } catch (error) {
    throw new UsageError(`invalid --include/--exclude glob: ${(error as Error).message}`);
  }
}

export function partSizeBytes(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 5 || n > 4096) throw new UsageError(`--part-size "${value}" must be a whole number of MiB from 5 to 4096`);
  return n * MiB;
}

/** Where interrupted copies keep their checkpoints (XDG cache dir). */
export function defaultStateDirectory(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'lyve-replicator', 'checkpoints');
}
