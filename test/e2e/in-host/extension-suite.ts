// The extension inside real VS Code (code-server's extension host), with the real `vscode`
// API: hosts from the team file, passwords through the prompt into SecretStorage, runs of
// .ps1 files in both argument styles over HTTPS (CA file) and HTTP (Basic, confirmed in a
// modal), what the output channel and the terminals received, duplicate/remove/forget and the
// secrets that go with them, and the canary password nowhere the extension writes text.
// Started by test/e2e/extension-in-host.test.ts (runInHost's `dialogs` mode: modal dialogs
// are refused in extension-test windows); user actions in quick inputs and dialogs go through
// the page (protocol.ts: "hands").
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { WinrmTestApi } from '../../../src/extension/main';
import type { RunRecord } from '../../../src/extension/runner';
import { ARGUMENTS_TITLE } from '../../../src/extension/arguments-prompt';
import { BASIC_HTTP_CONFIRM, PASSWORD_PROMPT_TITLE, REMEMBER_CHOICES, REMEMBER_PLACEHOLDER } from '../../../src/extension/credentials';
import { REMOVE_CONFIRM } from '../../../src/extension/hosts-view';
import { HOST_PICK_PLACEHOLDER, LANGUAGE_PICK_PLACEHOLDER, PROFILE_PICK_PLACEHOLDER, STYLE_PICK_PLACEHOLDER } from '../../../src/extension/run-commands';
import { SUITE_ENV, handsLine, type HandAction } from '../extension/protocol';
import { NON_ASCII } from '../extension/scripts';
import { inHostLog, runTests } from './runner';

const EXTENSION_ID = 'winrm-runner.winrm-runner';
const HTTPS_ID = 'workspace:e2e-https';
const HTTP_ID = 'workspace:e2e-http';
const RED = '\x1b[31m';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set for the extension host`);
  return v;
}

const user = env(SUITE_ENV.user);
const canary = readFileSync(env(SUITE_ENV.canaryFile), 'utf8');
let api: WinrmTestApi;
let folder: vscode.Uri;
const runIds: number[] = [];

/** The next user action, done by the Node side through the page. */
function hand(action: HandAction): void {
  inHostLog()(handsLine(action));
}

async function until<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function open(name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, name));
  return vscode.window.showTextDocument(doc);
}

/** The run's part of the output channel: from its header to its footer. */
function channelPart(id: number): string {
  const text = api.outputText();
  const start = text.indexOf(`▶ Run #${id} on `);
  assert.ok(start >= 0, `no header of run #${id} in the output channel:\n${text}`);
  const footer = text.indexOf(`■ Run #${id} `, start);
  assert.ok(footer >= 0, `no footer of run #${id} in the output channel:\n${text.slice(start)}`);
  return text.slice(start, text.indexOf('\n', footer) + 1);
}

function typeArgument(file: string, text: string): void {
  // The prompt turns the typed text into an "Add name = ..." row ("Set" for a name it has).
  hand({ do: 'type', expect: `${ARGUMENTS_TITLE} for ${file}`, text, waitRow: '^(Add|Set) ' });
}

export function run(): Promise<unknown> {
  return runTests([
    { name: 'activates with no hosts; the team file adds an HTTPS host (CA file) and an HTTP host', timeoutMs: 45_000, fn: async () => {
      const t0 = Date.now();
      const ext = vscode.extensions.getExtension<WinrmTestApi>(EXTENSION_ID);
      assert.ok(ext, `${EXTENSION_ID} is loaded`);
      api = await ext.activate();
      assert.deepEqual(api.hosts(), []);
      folder = vscode.workspace.workspaceFolders![0].uri;
      // What a team commits: no passwords, a CA file relative to the folder.
      const team = { hosts: [
        { id: 'e2e-https', name: 'E2E HTTPS', url: env(SUITE_ENV.httpsUrl), auth: 'basic', user, style: 'dashed', profile: 'safe', tls: { caFile: env(SUITE_ENV.caFile) } },
        { id: 'e2e-http', name: 'E2E HTTP', url: env(SUITE_ENV.httpUrl), auth: 'basic', user, style: 'variables', profile: 'safe' },
      ] };
      await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(folder, '.vscode', 'winrm-hosts.json'), new TextEncoder().encode(JSON.stringify(team, null, 2)));
      const hosts = await until(() => api.hosts().length === 2 && api.hosts(), 'the team hosts (file watcher)', 40_000);
      inHostLog()(`watcher took ${Date.now() - t0} ms`);
      assert.deepEqual(hosts.map((h) => [h.id, h.name, h.source]), [[HTTPS_ID, 'E2E HTTPS', 'workspace'], [HTTP_ID, 'E2E HTTP', 'workspace']]);
      assert.equal(await api.hasPassword(HTTPS_ID), false);
      assert.equal(await api.hasPassword(HTTP_ID), false);
    } },

    { name: 'HTTPS, dashed style: Run with Arguments asks the password once, keeps it in SecretStorage, streams to the channel and the terminal', timeoutMs: 60_000, fn: async () => {
      await vscode.commands.executeCommand('winrm.hosts.setDefault', { kind: 'host', hostId: HTTPS_ID });
      await open('dashed.ps1');
      typeArgument('dashed.ps1', `Name=Zoë O'Neil = "the boss"`);
      typeArgument('dashed.ps1', 'Count=3');
      hand({ do: 'pick', expect: `${ARGUMENTS_TITLE} for dashed.ps1`, label: 'Run' });
      hand({ do: 'type', expect: `${PASSWORD_PROMPT_TITLE}: E2E HTTPS`, secret: true });
      hand({ do: 'pick', expect: REMEMBER_PLACEHOLDER, label: REMEMBER_CHOICES.remember });
      const rec = await vscode.commands.executeCommand<RunRecord>('winrm.runWithArguments');
      assert.ok(rec, 'the run started');
      runIds.push(rec.id);
      assert.equal(rec.exitCode, 43, JSON.stringify(rec));
      assert.equal(rec.state, 'failed');
      assert.equal(rec.style, 'dashed');
      assert.deepEqual(api.lastRun(), rec);
      const part = channelPart(rec.id);
      assert.match(part, /^▶ Run #\d+ on E2E HTTPS \(127\.0\.0\.1:\d+ \(HTTPS\)\) · language powershell · style dashed · profile safe · /);
      assert.ok(part.includes(`dashed Name=[Zoë O'Neil = "the boss"] Count=[3] on WINRM-TEST\n`), part);
      assert.ok(part.includes(`${NON_ASCII}\n`), part);
      assert.ok(part.includes('[stderr] warning: 3 item(s) skipped\n'), part);
      assert.match(part, new RegExp(`■ Run #${rec.id} exit code 43 · `));
      const term = api.terminalText(rec.id) ?? '';
      assert.ok(term.includes(`${RED}warning: 3 item(s) skipped`), `stderr is red in the terminal: ${JSON.stringify(term)}`);
      assert.ok(term.includes(NON_ASCII), term);
      assert.equal(await api.hasPassword(HTTPS_ID), true, 'the password was remembered');
    } },

    { name: 'HTTP with Basic: confirmed once in a modal; variables style with list and null arguments, chosen with Run with Options', timeoutMs: 60_000, fn: async () => {
      await open('variables.ps1');
      hand({ do: 'pick', expect: HOST_PICK_PLACEHOLDER, label: 'E2E HTTP' });
      hand({ do: 'pick', expect: LANGUAGE_PICK_PLACEHOLDER, label: 'powershell' });
      hand({ do: 'pick', expect: STYLE_PICK_PLACEHOLDER, label: 'variables' });
      hand({ do: 'pick', expect: PROFILE_PICK_PLACEHOLDER, label: 'safe' });
      for (const a of ['identity=jdoe', "givenName=John O'Neil", 'groups[]=Lab Users', 'groups[]=VPN', 'manager']) typeArgument('variables.ps1', a);
      hand({ do: 'pick', expect: `${ARGUMENTS_TITLE} for variables.ps1`, label: 'Run' });
      hand({ do: 'button', expect: '"E2E HTTP" uses Basic authentication over plain HTTP', label: BASIC_HTTP_CONFIRM });
      hand({ do: 'type', expect: `${PASSWORD_PROMPT_TITLE}: E2E HTTP`, secret: true });
      hand({ do: 'pick', expect: REMEMBER_PLACEHOLDER, label: REMEMBER_CHOICES.session });
      const rec = await vscode.commands.executeCommand<RunRecord>('winrm.runWithOptions');
      assert.ok(rec, 'the run started');
      runIds.push(rec.id);
      assert.deepEqual([rec.hostId, rec.style, rec.state, rec.exitCode], [HTTP_ID, 'variables', 'succeeded', 0], JSON.stringify(rec));
      const part = channelPart(rec.id);
      assert.match(part, /^▶ Run #\d+ on E2E HTTP \(127\.0\.0\.1:\d+ \(HTTP\)\) · language powershell · style variables · profile safe · /);
      for (const line of ["variables identity=[jdoe] givenName=[John O'Neil]", 'group=[Lab Users]', 'group=[VPN]', 'manager is null: True', NON_ASCII]) {
        assert.ok(part.includes(`${line}\n`), `"${line}" in:\n${part}`);
      }
      assert.ok(!part.includes('[stderr]'), part);
      assert.match(part, new RegExp(`■ Run #${rec.id} exit code 0 · `));
      assert.equal(await api.hasPassword(HTTP_ID), false, '"until VS Code closes" is not stored');
    } },

    { name: 'Re-run Last asks nothing again (HTTP confirmed for the host, password kept for the window)', timeoutMs: 20_000, fn: async () => {
      const rec = await vscode.commands.executeCommand<RunRecord>('winrm.rerunLast');
      assert.ok(rec, 'the run started');
      runIds.push(rec.id);
      assert.deepEqual([rec.hostId, rec.state, rec.exitCode], [HTTP_ID, 'succeeded', 0]);
      assert.ok(channelPart(rec.id).includes('group=[VPN]\n'));
    } },

    { name: 'Duplicate copies the saved password; Remove asks, then deletes the host and its password', timeoutMs: 60_000, fn: async () => {
      await vscode.commands.executeCommand('winrm.hosts.duplicate', { kind: 'host', hostId: HTTPS_ID });
      const copy = await until(() => api.hosts().find((h) => h.name === 'E2E HTTPS (copy)'), 'the copy');
      assert.equal(copy.source, 'user');
      assert.equal(await api.hasPassword(copy.id), true, 'the copy has the password');
      // The copy's password works: a run on it asks nothing (the file's arguments are remembered).
      await open('dashed.ps1');
      const rec = await vscode.commands.executeCommand<RunRecord>('winrm.runFile', copy.id);
      assert.ok(rec, 'the run started');
      runIds.push(rec.id);
      assert.deepEqual([rec.hostName, rec.exitCode], ['E2E HTTPS (copy)', 43]);
      hand({ do: 'button', expect: `Remove host "E2E HTTPS (copy)"?`, label: REMOVE_CONFIRM });
      await vscode.commands.executeCommand('winrm.hosts.remove', { kind: 'host', hostId: copy.id });
      assert.deepEqual(api.hosts().map((h) => h.id), [HTTPS_ID, HTTP_ID]);
      assert.equal(await api.hasPassword(copy.id), false, 'the removed host\'s password is gone');
      assert.equal(await api.hasPassword(HTTPS_ID), true, 'the original keeps its own');
    } },

    { name: 'Forget Password deletes a team host\'s saved password', fn: async () => {
      await vscode.commands.executeCommand('winrm.hosts.forgetPassword', { kind: 'host', hostId: HTTPS_ID });
      assert.equal(await api.hasPassword(HTTPS_ID), false);
    } },

    { name: 'the canary password is in none of the texts: output channel, log channel at trace level, terminals', fn: async () => {
      const log = api.logText();
      // Trace level is on (code-server runs with --log trace), so the SOAP exchange was logged.
      assert.match(log, /\[trace\] → request https:\/\/127\.0\.0\.1:\d+\/wsman/);
      assert.match(log, /authorization: Basic \[redacted\]/);
      const basic = Buffer.from(`${user}:${canary}`).toString('base64');
      const texts: [string, string][] = [['output channel', api.outputText()], ['log channel', log],
        ...runIds.map((id) => [`terminal of run #${id}`, api.terminalText(id) ?? ''] as [string, string])];
      assert.equal(texts.length, 6);
      for (const [where, text] of texts) {
        assert.ok(text.length > 0, `${where} is empty`);
        assert.ok(!text.includes(canary), `the canary password is in the ${where}`);
        assert.ok(!text.includes(basic), `the Basic credentials are in the ${where}`);
      }
    } },
  ]);
}
