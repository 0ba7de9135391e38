import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isMultipartCheckpoint, type MultipartCheckpoint } from '../engine/checkpoint.js';

/**
 * Checkpoints of multipart copies in progress, one small JSON file per object, so a copy
 * interrupted by a crash or Ctrl-C resumes where it stopped instead of starting over.
 */
export class CheckpointStore {
  /** The last write of each file: writes of one object's checkpoints happen in order, never at once. */
  private readonly writes = new Map<string, Promise<void>>();

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
  save(checkpoint: MultipartCheckpoint): Promise<void> {
    const file = this.file(checkpoint.source, checkpoint.target);
    const text = JSON.stringify(checkpoint);
    const write = (this.writes.get(file) ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        await mkdir(this.directory, { recursive: true });
        // Unique per write: two stores (or processes) on one directory never share a temporary file.
        const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
        await writeFile(temporary, text);
        await rename(temporary, file);
      });
    this.writes.set(file, write);
    void write.finally(() => {
      if (this.writes.get(file) === write) this.writes.delete(file);
    }).catch(() => undefined);
    return write;
  }

  async remove(source: { bucket: string; key: string }, target: { bucket: string; key: string }): Promise<void> {
    const file = this.file(source, target);
    await this.writes.get(file)?.catch(() => undefined);
    await rm(file, { force: true });
  }
}
