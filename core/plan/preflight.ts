/**
 * Checks that need the outside world, before any state is written: each model's SQL runs in the
 * warehouse, the primary key and every mapped column exist in it, and each destination answers.
 *
 * A failed check belongs to the syncs it concerns: `run` records them as failed runs and runs the
 * others. Only what the whole project shares (the warehouse's connection) stops everything.
 */
import { DestinationError, type Failure, type MappedColumn } from '../../connectors/destination.js';
import { getConnector } from '../../connectors/registry.js';
import type { ProjectConfig, SyncConfig } from '../config/types.js';
import { redact } from '../../shared/redact.js';
import { openWarehouse, type ModelColumn } from '../db/warehouse.js';
import { columnTypeOf } from '../db/column-type.js';
import { UserError } from '../../shared/errors.js';
import { writeTarget } from '../config/write-target.js';

/** A destination's check failed: the one line, and the connector's classified failure (an `auth` one makes a sync `credentials_required`). */
export class DestinationUnusable extends UserError {
  constructor(
    message: string,
    where: ConstructorParameters<typeof UserError>[1],
    readonly failure: Failure,
  ) {
    super(message, where);
  }
}

/** Why a sync cannot run, by sync name; a sync absent from it passed. Warehouse problems come first. */
export type PreflightFailures = Map<string, UserError>;

export interface Preflight {
  failures: PreflightFailures;
  /** What each passing sync's destination described of its fields (the run's `sync.schema`), by sync name. */
  schemas: Map<string, Record<string, unknown>>;
  /** Mapped columns some of whose values may not fit their field (those rows fail alone), by sync name. */
  warnings: Map<string, UserError[]>;
}

/** Checks every sync; rejects only when the warehouse cannot be reached at all. */
export async function preflightSyncs(project: ProjectConfig, syncs: SyncConfig[]): Promise<Preflight> {
  const result: Preflight = { failures: new Map(), schemas: new Map(), warnings: new Map() };
  const columns = await checkModels(project, syncs, result.failures);
  await checkDestinations(
    project,
    syncs.filter((sync) => !result.failures.has(sync.name)),
    columns,
    result,
  );
  return result;
}

/** `validate`: the first problem, as one line; else the warnings. */
export async function preflight(project: ProjectConfig, syncs: SyncConfig[]): Promise<UserError[]> {
  const { failures, warnings } = await preflightSyncs(project, syncs);
  const [first] = failures.values();
  if (first) throw first;
  return [...warnings.values()].flat();
}

/** Returns each model's columns, by model name. */
async function checkModels(project: ProjectConfig, syncs: SyncConfig[], failures: PreflightFailures): Promise<Map<string, ModelColumn[]>> {
  const warehouse = await openWarehouse(project);
  const found = new Map<string, ModelColumn[]>();
  try {
    // A model shared by several syncs runs once; its error fails each of them.
    const columnsByModel = new Map<string, ModelColumn[] | UserError>();
    for (const sync of syncs) {
      const model = project.models[sync.model];
      let columns = columnsByModel.get(model.name);
      if (!columns) {
        try {
          columns = await warehouse.columns(model);
        } catch (error) {
          // A UserError is the model's own SQL error; anything else is the warehouse's and stops the run.
          if (!(error instanceof UserError)) throw error;
          columns = error;
        }
        columnsByModel.set(model.name, columns);
      }
      if (!(columns instanceof UserError)) found.set(model.name, columns);
      const failure = columns instanceof UserError ? columns : missingColumn(sync, model.name, model.file, columns);
      if (failure) failures.set(sync.name, failure);
    }
  } finally {
    await warehouse.close();
  }
  return found;
}

function missingColumn(sync: SyncConfig, modelName: string, modelFile: string, columns: ModelColumn[]): UserError | null {
  const known = new Set(columns.map((c) => c.name));
  const list = columns.map((c) => c.name).join(', ');
  if (!known.has(sync.primary_key)) {
    return new UserError(`primary key column "${sync.primary_key}" is not in model ${modelName} (columns: ${list})`, {
      file: sync.file,
      line: sync.lines.primary_key,
      field: 'primary_key',
      hint: `name one of the model's columns, or add it to ${modelFile}.`,
    });
  }
  for (const [field, column] of Object.entries(sync.mapping)) {
    if (!known.has(column)) {
      return new UserError(`column "${column}" is not in model ${modelName} (columns: ${list})`, {
        file: sync.file,
        line: sync.lines[`mapping.${field}`] ?? sync.lines.mapping,
        field: `mapping.${field}`,
        hint: `map a column the model returns, or add it to ${modelFile}.`,
      });
    }
  }
  return null;
}

/**
 * Each distinct target (destination, settings, fields) is checked once; its verdict holds for every sync
 * writing to it. Then each sync's column types are compared with the fields the check described.
 */
async function checkDestinations(
  project: ProjectConfig,
  syncs: SyncConfig[],
  columns: Map<string, ModelColumn[]>,
  result: Preflight,
): Promise<void> {
  const verdicts = new Map<string, UserError | { schema?: Record<string, unknown> }>();
  for (const sync of syncs) {
    const destination = project.destinations[sync.destination];
    const target = writeTarget(project, sync);
    const id = JSON.stringify([sync.destination, target.sync.settings, target.sync.fields]);
    const connector = getConnector(destination.type)!;
    let verdict = verdicts.get(id);
    if (verdict === undefined) {
      try {
        verdict = (await connector.check(target)) ?? {};
      } catch (error) {
        const message = error instanceof DestinationError ? error.failure.message : (error as Error).message;
        const remediation = error instanceof DestinationError ? error.failure.remediation : undefined;
        const failure: Failure =
          error instanceof DestinationError
            ? error.failure
            : { errorClass: 'fatal', code: 'CHECK_FAILED', message: redact(message, project.secrets) };
        verdict = new DestinationUnusable(
          `destination "${destination.name}" (${destination.type}) is not usable: ${redact(message, project.secrets)}`,
          {
            file: project.file,
            line: project.lines?.[`destinations.${destination.name}`],
            field: `destinations.${destination.name}`,
            hint: remediation ?? 'check that it is running and that the settings are right.',
          },
          failure,
        );
      }
      verdicts.set(id, verdict);
    }
    if (verdict instanceof UserError) {
      result.failures.set(sync.name, verdict);
      continue;
    }
    if (!verdict.schema) continue;
    result.schemas.set(sync.name, verdict.schema);
    const problems = connector.compareColumns?.(verdict.schema, mappedColumns(sync, columns.get(sync.model) ?? [])) ?? [];
    const located = (problem: { field: string; message: string }, hint: string) =>
      new UserError(redact(problem.message, project.secrets), {
        file: sync.file,
        line: sync.lines[`mapping.${problem.field}`] ?? sync.lines.mapping,
        field: `mapping.${problem.field}`,
        hint,
      });
    const error = problems.find((p) => p.severity === 'error');
    if (error) result.failures.set(sync.name, located(error, 'map a column of a type the field takes, or cast it in the model.'));
    const warnings = problems.filter((p) => p.severity === 'warning');
    if (!error && warnings.length > 0)
      result.warnings.set(
        sync.name,
        warnings.map((w) => located(w, '')),
      );
  }
}

function mappedColumns(sync: SyncConfig, columns: ModelColumn[]): MappedColumn[] {
  const types = new Map(columns.map((c) => [c.name, c.type]));
  return Object.entries(sync.mapping).flatMap(([field, column]) => {
    const type = types.get(column);
    return type === undefined ? [] : [{ field, column, type: columnTypeOf(type) }];
  });
}
