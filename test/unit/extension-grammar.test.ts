// The output channel's grammar against what the formatter really writes: each
// kind of line gets its scope. Oniguruma-only syntax (\G) is mapped to its JS
// meaning for the text after the begin match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChannelWriter, STDERR_PREFIX } from '../../src/core/format';
import { findRoot } from '../support/peers';

interface Rule { match?: string; begin?: string; name?: string; contentName?: string; patterns?: Rule[]; captures?: Record<string, { name: string }> }
const grammar = JSON.parse(readFileSync(join(findRoot(), 'syntaxes/winrm-output.tmLanguage.json'), 'utf8')) as { repository: Record<string, Rule> };

const re = (source: string) => new RegExp(source.replace(/\\G/g, '^'), 'u');

/** Scope names of the top-level rule that matches the line, and of the stderr body's inner rules. */
function scopes(line: string): string[] {
  for (const [name, rule] of Object.entries(grammar.repository)) {
    const rules = rule.patterns && !rule.begin ? rule.patterns : [rule];
    for (const r of rules) {
      if (r.match && re(r.match).test(line)) {
        return [name, ...Object.values(r.captures ?? {}).map((c) => c.name), r.name ?? ''].filter(Boolean);
      }
      if (r.begin) {
        const m = re(r.begin).exec(line);
        if (!m) continue;
        const body = line.slice(m[0].length);
        const inner = (r.patterns ?? []).filter((p) => p.match && re(p.match).test(body)).flatMap((p) => [p.name ?? '', ...Object.values(p.captures ?? {}).map((c) => c.name)]);
        return [name, r.contentName ?? '', ...inner].filter(Boolean);
      }
    }
  }
  return [];
}

test('every line the formatter writes for a failed PowerShell run is coloured as what it is', () => {
  let text = '';
  const w = new ChannelWriter((t) => { text += t; });
  w.begin({ runId: 7, hostName: 'Lab DC', address: 'dc01:5986 (HTTPS)', language: 'powershell', style: 'dashed', profile: 'connector-1.5', source: 'x.ps1', startedAt: new Date(2024, 0, 2, 3, 4, 5) },
    [{ severity: 'warning', message: 'value of "name" contains a space' }]);
  w.write(7, 'stdout', 'plain result\n');
  w.write(7, 'stderr', 'Write-Error: boom\r\nAt line:1 char:1\r\n    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException\r\nWARNING: careful\r\n');
  w.end(7, { kind: 'exit', exitCode: 1, durationMs: 1500, connectorMessage: 'Script execution failed: Exit code 1 received during command execution' });
  const lines = text.trimEnd().split('\n');
  const [header, source, warning, plain, err, at, category, warn, footer, connector] = lines;
  assert.ok(scopes(header).includes('constant.numeric.time.winrm-output'), header);
  assert.ok(scopes(header).includes('entity.name.type.host.winrm-output'));
  assert.ok(scopes(source).includes('markup.heading.winrm-output'));
  assert.ok(scopes(warning).includes('markup.changed.winrm-output'));
  assert.deepEqual(scopes(plain), [], 'stdout stays uncoloured');
  assert.ok(err.startsWith(STDERR_PREFIX));
  assert.ok(scopes(err).includes('markup.deleted.stderr.winrm-output'));
  assert.ok(scopes(err).includes('entity.name.function.cmdlet.winrm-output'));
  assert.ok(scopes(at).includes('markup.underline.location.winrm-output'));
  assert.ok(scopes(category).includes('variable.other.property.winrm-output'), category);
  assert.ok(scopes(warn).includes('markup.changed.winrm-output'));
  assert.ok(scopes(footer).some((s) => s.includes('markup.deleted')), 'non-zero exit is red');
  assert.ok(scopes(connector).includes('keyword.other.connector.winrm-output'));
});

test('a zero exit code is green, a stopped or interrupted run red', () => {
  let text = '';
  const w = new ChannelWriter((t) => { text += t; });
  w.begin({ runId: 1, hostName: 'h', address: 'a', language: 'cmd', style: 'dashed', profile: 'safe', source: 's', startedAt: new Date() });
  w.end(1, { kind: 'exit', exitCode: 0, durationMs: 5 });
  w.begin({ runId: 2, hostName: 'h', address: 'a', language: 'cmd', style: 'dashed', profile: 'safe', source: 's', startedAt: new Date() });
  w.end(2, { kind: 'cancelled', durationMs: 5 });
  w.begin({ runId: 3, hostName: 'h', address: 'a', language: 'cmd', style: 'dashed', profile: 'safe', source: 's', startedAt: new Date() });
  w.end(3, { kind: 'exit', exitCode: 1, durationMs: 5, stoppedBy: 'interrupt' });
  const footers = text.split('\n').filter((l) => l.startsWith('■'));
  assert.ok(scopes(footers[0]).some((s) => s.includes('markup.inserted')));
  assert.ok(scopes(footers[1]).some((s) => s.includes('markup.deleted')));
  assert.match(footers[2], /interrupted/);
  assert.ok(scopes(footers[2]).some((s) => s.includes('markup.deleted')), 'an interrupted run is marked like a stopped one');
});
