/**
 * `.hightouch-like/service.json` in the project folder: written by `serve` once it listens, removed when
 * it exits. A DuckDB state file admits one process, so while a service holds it the CLI's `status`,
 * `query` and `run` ask the service's API instead. A file whose pid is gone (a killed service) is stale
 * and ignored.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../shared/process-alive.js';

export interface ServiceFile {
  pid: number;
  host: string;
  port: number;
  started_at: string;
}

export function serviceFilePath(projectDir: string): string {
  return join(projectDir, '.hightouch-like', 'service.json');
}

export function writeServiceFile(projectDir: string, info: ServiceFile): void {
  const path = serviceFilePath(projectDir);
  mkdirSync(join(projectDir, '.hightouch-like'), { recursive: true });
  writeFileSync(path, JSON.stringify(info) + '\n');
}

/** Removes the file if it is still this process's (a newer service may have replaced it). */
export function removeServiceFile(projectDir: string, pid = process.pid): void {
  if (readServiceFile(projectDir)?.pid === pid) rmSync(serviceFilePath(projectDir), { force: true });
}

/** The running service of the project, or null (no file, unreadable, or its process is gone). */
export function readServiceFile(projectDir: string): ServiceFile | null {
  let info: ServiceFile;
  try {
    info = JSON.parse(readFileSync(serviceFilePath(projectDir), 'utf8')) as ServiceFile;
  } catch {
    return null;
  }
  if (!Number.isInteger(info?.pid) || !Number.isInteger(info?.port)) return null;
  return processAlive(info.pid) ? info : null;
}
