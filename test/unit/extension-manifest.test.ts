// The extension's manifest against its source: every command the code
// registers is contributed (and the other way round), menus and keybindings
// name real commands, the files the manifest points at exist, and the stable
// command list at the top of main.ts is complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findRoot } from '../support/peers';

const root = findRoot();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const contributes = pkg.contributes;
const sources = readdirSync(join(root, 'src/extension')).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(root, 'src/extension', f), 'utf8'));
const registered = new Set(sources.flatMap((s) => [...s.matchAll(/(?:registerCommand|reg)\('([\w.]+)'/g)].map((m) => m[1])));
const contributed = new Set<string>(contributes.commands.map((c: { command: string }) => c.command));

test('every registered command is contributed, and every contributed command is registered', () => {
  assert.ok(registered.size >= 20, `found ${registered.size} registered commands`);
  assert.deepEqual([...registered].filter((c) => !contributed.has(c)), []);
  assert.deepEqual([...contributed].filter((c) => !registered.has(c)), []);
});

test('commands have the WinRM category and a codicon; menus and keybindings name contributed commands', () => {
  for (const c of contributes.commands) {
    assert.equal(c.category, 'WinRM', c.command);
    assert.match(c.icon ?? '', /^\$\([a-z-]+\)$/, c.command);
  }
  const menuCommands = Object.values(contributes.menus as Record<string, { command: string; when?: string }[]>).flat();
  for (const m of [...menuCommands, ...contributes.keybindings]) {
    assert.ok(contributed.has(m.command) || m.command.startsWith('workbench.'), m.command);
  }
  for (const m of contributes.menus['view/item/context']) assert.match(m.when, /view == winrm\.hosts/, `${m.command} is scoped to the hosts view`);
  const removeMenu = contributes.menus['view/item/context'].find((m: { command: string }) => m.command === 'winrm.hosts.remove');
  assert.match(removeMenu.when, /host\\\.user/, 'team hosts cannot be removed from the tree');
});

test('files the manifest points at exist; the icon is a 128x128 PNG', () => {
  const png = readFileSync(join(root, pkg.icon));
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  assert.equal(png.readUInt32BE(16), 128);
  assert.equal(png.readUInt32BE(20), 128);
  for (const c of contributes.viewsContainers.activitybar) assert.ok(existsSync(join(root, c.icon)), c.icon);
  for (const g of contributes.grammars) {
    assert.ok(existsSync(join(root, g.path)), g.path);
    assert.equal(JSON.parse(readFileSync(join(root, g.path), 'utf8')).scopeName, g.scopeName);
  }
  for (const v of contributes.jsonValidation) assert.ok(existsSync(join(root, v.url)), v.url);
});

test('workspace trust, activation and output language are declared', () => {
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('winrm.hosts.useWorkspaceFile'));
  assert.ok(Array.isArray(pkg.activationEvents), 'activation is inferred from contributions (VS Code 1.74+)');
  assert.ok(pkg.activationEvents.every((e: string) => e !== '*'), 'never activate on start-up');
  assert.equal(pkg.main, './out/extension.js');
  const output = contributes.languages.find((l: { id: string }) => l.id === 'winrm-output');
  assert.ok(output, 'the output channel has its own language');
  assert.ok(contributes.grammars.some((g: { language: string }) => g.language === 'winrm-output'));
  for (const [key, prop] of Object.entries(contributes.configuration.properties as Record<string, { description?: string; markdownDescription?: string }>)) {
    assert.ok(prop.description || prop.markdownDescription, `${key} is described`);
  }
});

test('the stable command list at the top of main.ts names every contributed command', () => {
  const main = readFileSync(join(root, 'src/extension/main.ts'), 'utf8');
  const header = main.slice(0, main.indexOf('import '));
  for (const id of contributed) {
    const short = id.replace(/^winrm\.hosts\./, '.');
    assert.ok(header.includes(id) || (id.startsWith('winrm.hosts.') && header.includes(short)), `${id} is documented in main.ts`);
  }
});
