/**
 * While `serve` holds a project's DuckDB state file (which admits one process), `status`, `query` and
 * `run` go through its API instead of opening the file, and `plan` refuses. PostgreSQL state admits
 * every process, so the CLI uses it directly whether a service runs or not.
 */
import type { ProjectConfig } from '../config/types.js';
import { readServiceFile, type ServiceFile } from '../service/service-file.js';

export function owningService(project: ProjectConfig): ServiceFile | null {
  if (project.state.type !== 'duckdb' || project.state.path === ':memory:') return null;
  return readServiceFile(project.dir);
}
