/** What one invocation of the command shares between `main` and the command it runs. */
import { resolve } from 'node:path';
import { loadProject } from '../config/load-project.js';
import type { ProjectConfig } from '../config/types.js';
import { RunController } from '../run/controller.js';

export interface CliContext {
  /** Environment values read so far, filled while the project loads: an error thrown half-way is masked too. */
  secrets: Set<string>;
  /** Set by the command that ran; commander does not return an action's result. */
  exitCode: number;
  controller: RunController;
  /** Loads the project of `--project`, else of the current folder. */
  project(options: { project?: string }): Promise<ProjectConfig>;
}

export function createContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  const secrets = new Set<string>();
  return {
    secrets,
    exitCode: 0,
    controller: new RunController(),
    project: (options) => loadProject(resolve(options.project ?? process.cwd()), env, secrets),
  };
}

/** Writes a result to stdout, ending it with a newline. */
export function print(text: string) {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
