import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostRegistry, STATE_KEYS, parseWorkspaceHostsFile, passwordKey, type HostDraft, type KeyValueStore, type SecretStore } from '../../src/core/hosts';
import { SessionPool } from '../../src/core/hosts/session-pool';

const CANARY = 'canary-Pa55-do-not-log';

/** In-memory stand-ins with the semantics of vscode.Memento and SecretStorage (values round-trip through JSON like globalState). */
class MemoryState implements KeyValueStore {
  readonly data = new Map<string, string>();
  get<T>(key: string): T | undefined {
    const v = this.data.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
  async update(key: string, value: unknown): Promise<void> {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, JSON.stringify(value));
  }
  dump(): string {
    return JSON.stringify([...this.data]);
  }
}
class MemorySecrets implements SecretStore {
  readonly data = new Map<string, string>();
  async get(key: string) { return this.data.get(key); }
  async store(key: string, value: string) { this.data.set(key, value); }
  async delete(key: string) { this.data.delete(key); }
}

const draft: HostDraft = { name: 'Lab DC', url: 'http://dc01:5985/wsman', auth: 'basic', user: 'LAB\\svc', style: 'dashed', profile: 'safe' };

function setup() {
  const state = new MemoryState();
  const secrets = new MemorySecrets();
  let n = 0;
  const registry = new HostRegistry(state, secrets, () => `id-${++n}`);
  return { state, secrets, registry };
}

test('add: the first host becomes the default; the password goes to secrets only, keyed by the host id', async () => {
  const { state, secrets, registry } = setup();
  const host = await registry.add({ ...draft, password: CANARY } as HostDraft);
  await registry.storePassword(host.id, CANARY);
  assert.equal(registry.defaultHostId(), 'id-1');
  assert.equal(await registry.getPassword('id-1'), CANARY);
  assert.equal(secrets.data.get(passwordKey('id-1')), CANARY);
  assert.ok(!state.dump().includes(CANARY), 'global state never holds the password');
  assert.deepEqual(registry.all().map((h) => [h.name, h.source]), [['Lab DC', 'user']]);
});

test('update, duplicate and remove keep passwords in step with hosts', async () => {
  const { state, secrets, registry } = setup();
  const a = await registry.add(draft);
  await registry.storePassword(a.id, CANARY);
  const copy = await registry.duplicate(a.id);
  assert.equal(copy.name, 'Lab DC (copy)');
  assert.equal(await registry.getPassword(copy.id), CANARY, 'the copy has the same credentials');
  const again = await registry.duplicate(a.id);
  assert.equal(again.name, 'Lab DC (copy 2)');
  await registry.update({ ...a, name: 'Renamed', style: 'variables' });
  assert.equal(registry.get(a.id)?.style, 'variables');
  await registry.remove(a.id);
  assert.equal(await registry.getPassword(a.id), undefined, 'the password is deleted with the host');
  assert.equal(secrets.data.has(passwordKey(a.id)), false);
  assert.equal(registry.defaultHostId(), copy.id, 'the default moves to a host that exists');
  assert.ok(!state.dump().includes(CANARY));
  await assert.rejects(registry.update({ ...a }), /No host/);
});

test('Basic-over-HTTP confirmation is per host and is withdrawn when the address changes', async () => {
  const { registry } = setup();
  const a = await registry.add(draft);
  const b = await registry.add({ ...draft, name: 'Other' });
  await registry.setBasicOverHttpConfirmed(a.id, true);
  assert.equal(registry.isBasicOverHttpConfirmed(a.id), true);
  assert.equal(registry.isBasicOverHttpConfirmed(b.id), false);
  await registry.update({ ...a, name: 'Renamed' });
  assert.equal(registry.isBasicOverHttpConfirmed(a.id), true, 'a rename keeps it');
  await registry.update({ ...a, url: 'http://dc02:5985/wsman' });
  assert.equal(registry.isBasicOverHttpConfirmed(a.id), false, 'another address needs a new confirmation');
});

test('workspace hosts are listed only in a trusted workspace', async () => {
  const { registry } = setup();
  await registry.add(draft);
  const team = { id: 'workspace:exch', name: 'Exchange', url: 'https://exch01:5986/wsman', auth: 'basic' as const, user: 'svc', style: 'variables' as const, profile: 'connector-1.5' as const };
  let changes = 0;
  registry.onDidChange(() => changes++);
  registry.setWorkspaceHosts([team], false);
  assert.deepEqual(registry.all().map((h) => h.id), ['id-1']);
  assert.equal(registry.untrustedWorkspaceHostCount, 1);
  assert.equal(registry.get('workspace:exch'), undefined, 'cannot be run by id either');
  registry.setWorkspaceHosts([team], true);
  assert.deepEqual(registry.all().map((h) => [h.id, h.source]), [['id-1', 'user'], ['workspace:exch', 'workspace']]);
  assert.equal(changes, 2);
});

test('hosts written to state by hand (older version, sync) are re-validated, a password in them is dropped', async () => {
  const { state, registry } = setup();
  await state.update(STATE_KEYS.hosts, [{ id: 'old', name: 'Old', url: 'old-box', user: 'x', password: CANARY }, { junk: true }]);
  const hosts = registry.userHosts();
  assert.equal(hosts.length, 1);
  assert.equal(hosts[0].url, 'http://old-box:5985/wsman');
  assert.ok(!JSON.stringify(hosts).includes(CANARY));
  await registry.update({ ...hosts[0], name: 'Old box' });
  assert.ok(!state.dump().includes(CANARY), 'the next write leaves the password out');
});

class FakeSession {
  closed = 0;
  constructor(readonly label: string) {}
  async close() { this.closed++; }
}

test('session pool: reuses the idle session, adds a temporary one when busy, closes on settings change and discard', async () => {
  const pool = new SessionPool<FakeSession>();
  let made = 0;
  const create = () => new FakeSession(`s${++made}`);
  const first = pool.acquire('h1', 'v1', create);
  const concurrent = pool.acquire('h1', 'v1', create);
  assert.notEqual(first.resource, concurrent.resource, 'a busy session is not shared');
  await concurrent.release();
  assert.equal(concurrent.resource.closed, 1, 'the extra session closes after its run');
  await first.release();
  assert.equal(first.resource.closed, 0, 'the host session stays for the next run');
  const again = pool.acquire('h1', 'v1', create);
  assert.equal(again.resource, first.resource, 'same session, so the same reused shell');
  await again.release(true);
  assert.equal(first.resource.closed, 1, 'discard (after a cancel) closes it and its shells');
  const fresh = pool.acquire('h1', 'v1', create);
  await fresh.release();
  const changed = pool.acquire('h1', 'v2', create);
  assert.equal(fresh.resource.closed, 1, 'changed settings close the old idle session');
  assert.notEqual(changed.resource, fresh.resource);
  await pool.closeHost('h1');
  assert.equal(changed.resource.closed, 0, 'a session in use is not closed under its run');
  await changed.release();
  assert.equal(changed.resource.closed, 1, '... but when the run gives it back');
  const last = pool.acquire('h2', 'v1', create);
  await last.release();
  await pool.closeAll();
  assert.equal(last.resource.closed, 1);
  assert.equal(pool.size, 0);
  assert.throws(() => pool.acquire('h2', 'v1', create), /closed/);
});

test('a host removed from the team file loses its saved password and HTTP confirmation; a half-saved file, an invalid entry or a folder that left deletes nothing', async () => {
  const { registry, secrets } = setup();
  const mine = await registry.add(draft);
  await registry.storePassword(mine.id, 'mine');
  // What the store does on each reload: parse each folder's file, pass the hosts and the ids each file names.
  const reload = (files: Record<string, string>) => {
    const listing = new Map<string, string[] | undefined>();
    const hosts = [];
    for (const [folder, text] of Object.entries(files)) {
      const file = parseWorkspaceHostsFile(text);
      listing.set(folder, file.listedIds);
      hosts.push(...file.hosts);
    }
    return registry.setWorkspaceHosts(hosts, true, listing);
  };
  const exch = '{ "id": "exch", "name": "Exchange", "url": "http://exch01:5985/wsman", "auth": "basic", "user": "svc" }';
  const dc = '{ "id": "dc", "name": "DC", "url": "https://dc01:5986/wsman", "user": "svc" }';
  const both = `{ "hosts": [ ${exch}, ${dc} ] }`;
  const dcOnly = `{ "hosts": [ ${dc} ] }`;
  assert.deepEqual(await reload({ a: both }), []);
  await registry.storePassword('workspace:exch', 'exch-pw');
  await registry.setBasicOverHttpConfirmed('workspace:exch', true);
  await registry.storePassword('workspace:dc', 'dc-pw');

  // Mid-edit: not JSON yet, then the entry broken (no url) but still named by its id.
  assert.deepEqual(await reload({ a: '{ "hosts": [ { "id": "exch", ' }), []);
  assert.deepEqual(registry.all().map((h) => h.id), [mine.id]);
  assert.deepEqual(await reload({ a: `{ "hosts": [ { "id": "exch", "name": "Exchange" }, ${dc} ] }` }), []);
  // No listing (the setting turned off), or the folder left the workspace: hosts go, passwords stay.
  assert.deepEqual(await registry.setWorkspaceHosts([], true), []);
  assert.deepEqual(await reload({}), []);
  assert.equal(await registry.getPassword('workspace:exch'), 'exch-pw');
  assert.equal(await registry.getPassword('workspace:dc'), 'dc-pw');

  // Moved to another folder's file: not removed.
  assert.deepEqual(await reload({ a: both }), []);
  assert.deepEqual(await reload({ a: dcOnly, b: `{ "hosts": [ ${exch} ] }` }), []);
  assert.equal(await registry.getPassword('workspace:exch'), 'exch-pw');

  // Saved without "exch" (right after a half-saved state): its password goes.
  assert.deepEqual(await reload({ a: both, b: '{ "hosts": [] }' }), []);
  assert.deepEqual(await reload({ a: '{ "hosts": [ { "id": "exch", ', b: '{ "hosts": [] }' }), []);
  assert.deepEqual(await reload({ a: dcOnly, b: '{ "hosts": [] }' }), ['workspace:exch']);
  assert.equal(await registry.getPassword('workspace:exch'), undefined);
  assert.equal(registry.isBasicOverHttpConfirmed('workspace:exch'), false);
  assert.equal(await registry.getPassword('workspace:dc'), 'dc-pw');
  assert.equal(await registry.getPassword(mine.id), 'mine', "the user's own hosts are not the team file's business");
  assert.deepEqual([...secrets.data.keys()].sort(), [passwordKey('workspace:dc'), passwordKey(mine.id)].sort());
});
