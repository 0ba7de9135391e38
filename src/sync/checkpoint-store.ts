import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isMultipartCheckpoint, type MultipartCheckpoint } from '../engine/checkpoint.js';

/**
 * Checkpoints of multipart copies in progress, one small JSON file per object, so a copy
 * interrupted by a crash or Ctrl-C resumes where it stopped instead of starting over.
 */
export class CheckpointStore {
  constructor(readonly directory: string) {}

  private file(source: { bucket: string; key: string }, target: { bucket: string; key: string }): string {
    const id = createHash('sha256')
      .update(JSON.stringify([source.bucket, source.key, target.bucket, target.key]))
      .digest('hex')
      .slice(0, 32);
    return path.join(this.directory, `${id}.json`);
  }

  async load(source: { bucket: string; key: string }, target: { bucket: string; key: string }): Promise<MultipartCheckpoint | undefined> {
    try {
      const value: unknown = JSON.parse(await readFile(this.file(source, target), 'utf8'));
      return isMultipartCheckpoint(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  /** Written to a temporary file and renamed, so a crash never leaves half a checkpoint. */
  async save(checkpoint: MultipartCheckpoint): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const file = this.file(checkpoint.source, checkpoint.target);
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(checkpoint));
    await rename(temporary, file);
  }

  async remove(source: { bucket: string; key: string }, target: { bucket: string; key: string }): Promise<void> {
    await rm(this.file(source, target), { force: true });
  }
}
