// Reads the captured Windows traffic in ../shared/fixtures (pypsrp's .yml
// recordings: each request and response is a single line).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRoot } from './peers';

export interface RecordedStep {
  request: string;
  response: string;
  /** HTTP status the response came with (500 for faults). */
  status: number;
}

export function fixturesDir(kind: 'pypsrp' | 'pypsrp-psrp' = 'pypsrp'): string {
  const candidates = [join(findRoot(), '..', 'shared', 'fixtures', kind), join(findRoot(), 'shared', 'fixtures', kind)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`Captured fixtures not found (looked in ${candidates.join(', ')}).`);
  return found;
}

export function listFixtures(kind: 'pypsrp' | 'pypsrp-psrp' = 'pypsrp'): string[] {
  return readdirSync(fixturesDir(kind)).filter((f) => f.endsWith('.yml')).sort();
}

export function readRecording(name: string, kind: 'pypsrp' | 'pypsrp-psrp' = 'pypsrp'): RecordedStep[] {
  const lines = readFileSync(join(fixturesDir(kind), name), 'utf8').split('\n');
  const steps: RecordedStep[] = [];
  let current: Partial<RecordedStep> | undefined;
  let inTransportError = false;
  for (const line of lines) {
    if (line.startsWith('- request: ')) {
      if (current) steps.push(finish(current));
      current = { request: yamlScalar(line.slice('- request: '.length)), status: 200 };
      inTransportError = false;
    } else if (line.startsWith('  response: ') && current) {
      current.response = yamlScalar(line.slice('  response: '.length));
    } else if (line.startsWith('  transport_error:')) {
      inTransportError = true;
    } else if (inTransportError && /^\s+code:\s*(\d+)/.test(line) && current) {
      current.status = Number(/code:\s*(\d+)/.exec(line)![1]);
    } else if (/^  \S/.test(line)) {
      inTransportError = false;
    }
  }
  if (current) steps.push(finish(current));
  return steps;
}

function finish(step: Partial<RecordedStep>): RecordedStep {
  if (step.request === undefined || step.response === undefined) throw new Error('fixture step without request or response');
  return step as RecordedStep;
}

// The recordings use plain scalars, and single-quoted ones where the XML holds a quote.
function yamlScalar(raw: string): string {
  if (raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'")) return raw.slice(1, -1).replace(/''/g, "'");
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) return JSON.parse(raw) as string;
  return raw;
}
