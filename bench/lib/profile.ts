/** Reads V8 `.cpuprofile` files (from `node --cpu-prof`) into the top frames by self time. */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  frame: string;
  selfMs: number;
  share: number;
}

export interface ThreadProfile {
  file: string;
  totalMs: number;
  /** Time not spent idle or in GC, ms. */
  busyMs: number;
  top: Frame[];
}

function frameName(node: ProfileNode, root: string): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  if (!url) return name;
  const path = url.startsWith('file://') ? relative(root, new URL(url).pathname) : url;
  return `${name} ${path}:${lineNumber + 1}`;
}

export async function summariseProfiles(dir: string, root: string, top = 8): Promise<ThreadProfile[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  const out: ThreadProfile[] = [];
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    let total = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      const node = byId.get(profile.samples[i]);
      const dt = (profile.timeDeltas[i] ?? 0) / 1000;
      if (!node || dt <= 0) continue;
      total += dt;
      const name = frameName(node, root);
      self.set(name, (self.get(name) ?? 0) + dt);
    }
    const idle = (self.get('(idle)') ?? 0) + (self.get('(program)') ?? 0) * 0;
    const frames = [...self.entries()]
      .filter(([name]) => name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, ms]) => ({ frame, selfMs: ms, share: total > 0 ? ms / total : 0 }));
    out.push({ file, totalMs: total, busyMs: total - idle, top: frames });
  }
  return out;
}
