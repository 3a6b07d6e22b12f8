// Runs a script on a host: the checks before anything is sent, the plan, a
// session from the pool, and the output streamed to the channel and/or the
// run's terminal. Several runs may be in flight (on different hosts, or even
// the same one: a busy host gets a second session). powerhell/exchange run in
// a PowerShell loop kept in the host's pooled session, so variables survive
// between runs until Reset Session, a failed run, or a settings change.
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import { AuthError, CancelledError, TimeoutError, describeError } from '../core/errors';
import { formatRunFooter, formatRunHeader, persistentVerdict, scrub, summarizeArguments, type NamedArgument, type RunDescription, type RunOutcome } from '../core/format';
import { SessionPool, closeSession, describeAddress, sessionOptionsFor, toStoredHost, unsupportedSchemeReason, type HostEntry } from '../core/hosts';
import { interpretResult, planLaunch, type ArgumentStyle, type Language, type LaunchPlan, type LaunchWarning, type ProfileName } from '../core/launch';
import { persistentLoops, resetPersistentSessions, runScript, type PersistentScriptResult, type ScriptRun } from '../core/run-script';
import { WinrmSession } from '../core/session';
import type { Credentials } from './credentials';
import type { HostStore } from './host-store';
import type { KnownSecrets, Log } from './log';
import type { RunOutputChannel } from './output-channel';
import { RunTerminal } from './run-terminal';

export interface RunRequest {
  host: HostEntry;
  code: string;
  language: Language;
  style: ArgumentStyle;
  profile: ProfileName;
  args: NamedArgument[];
  /** What runs, for the header: "New-User.ps1", "selection of New-User.ps1 (lines 3-5)". */
  source: string;
}

export type RunState = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** What the test API and Re-run Last see of a run. */
export interface RunRecord {
  id: number;
  hostId: string;
  hostName: string;
  source: string;
  language: Language;
  style: ArgumentStyle;
  profile: ProfileName;
  state: RunState;
  exitCode?: number;
  error?: string;
  durationMs?: number;
  /** The connector's view (connector profiles): its result message or error; for powerhell/exchange also the safe profile's failure. */
  connectorError?: string;
  /** powerhell/exchange: how the script ended in the loop. */
  loopOutcome?: PersistentScriptResult['outcome'];
  /** powerhell/exchange: this run started a new loop (variables of earlier runs were not there). */
  newLoop?: boolean;
}

/** A PowerShell loop kept in a host's session (what Reset Session would end). */
export interface LoopInfo {
  hostId: string;
  language: 'powerhell' | 'exchange';
  profile?: string;
  state: 'running' | 'busy' | 'stopped';
}

interface ActiveRun {
  record: RunRecord;
  abort: AbortController;
  run?: ScriptRun;
  terminal?: RunTerminal;
  /** The user sent Ctrl+C or stopped the run: its end is not reported as a failure. */
  stoppedBy?: 'interrupt' | 'stop';
}

const OUTPUT_KEEP = 1_000_000;
export const FAILED_RUN_ACTION = 'Show Output';
export const REENTER_PASSWORD_ACTION = 'Re-enter Password';
export const PREVIEW_ACTION = 'Preview Command';

export class Runner implements vscode.Disposable {
  private nextId = 1;
  private readonly active = new Map<number, ActiveRun>();
  private readonly finished: RunRecord[] = [];
  /** Terminals of recent runs by run id (the test API reads their text). */
  private readonly terminals = new Map<number, RunTerminal>();
  /** Closing a session first lets its powerhell/exchange loops exit, as the connector's do. */
  readonly pool = new SessionPool<WinrmSession>({ close: closeSession });
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changeEmitter.event;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: HostStore,
    private readonly credentials: Credentials,
    private readonly known: KnownSecrets,
    private readonly output: RunOutputChannel,
    private readonly log: Log,
  ) {}

  get activeRuns(): RunRecord[] {
    return [...this.active.values()].map((a) => a.record);
  }

  get lastRun(): RunRecord | undefined {
    const running = this.activeRuns;
    const all = [...this.finished, ...running].sort((a, b) => b.id - a.id);
    return all[0];
  }

  terminalText(runId: number): string | undefined {
    return this.terminals.get(runId)?.text();
  }

  whenIdle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Plans a run without running it (Preview Command, and the checks before a run). */
  plan(req: Omit<RunRequest, 'source'>): LaunchPlan {
    const plan = planLaunch({
      language: req.language,
      code: req.code,
      args: req.args.map((a) => ({ name: a.name, value: Array.isArray(a.value) ? [...a.value] : a.value })),
      style: req.style,
      profile: req.profile,
      keepArgumentOrder: vscode.workspace.getConfiguration('winrm').get<boolean>('run.keepArgumentOrder', false) && req.profile === 'safe',
    });
    if (req.host.codepage !== undefined) plan.shell.codepage = req.host.codepage;
    return plan;
  }

  /** Runs the request; resolves with the record when the run is over (undefined if it never started). */
  async start(req: RunRequest): Promise<RunRecord | undefined> {
    const { host } = req;
    const unsupported = unsupportedSchemeReason(host.auth);
    if (unsupported) {
      void vscode.window.showErrorMessage(`Cannot run on "${host.name}": ${unsupported}`);
      return undefined;
    }
    let plan: LaunchPlan;
    try {
      plan = this.plan(req);
    } catch (err) {
      void vscode.window.showErrorMessage(`Cannot run: ${describeError(err)}`);
      return undefined;
    }
    if (plan.blocked || plan.warnings.some((w) => w.severity === 'error')) {
      const why = plan.blocked ?? plan.warnings.filter((w) => w.severity === 'error').map((w) => w.message).join(' ');
      const choice = await vscode.window.showErrorMessage(`Not run: ${why}`, PREVIEW_ACTION);
      if (choice === PREVIEW_ACTION) void vscode.commands.executeCommand('winrm.previewCommand', previewArgument(req));
      return undefined;
    }
    if (plan.warnings.length && vscode.workspace.getConfiguration('winrm').get<boolean>('run.confirmWarnings', false)) {
      const go = await vscode.window.showWarningMessage(`${plan.warnings.length} warning(s) for this run: ${plan.warnings.map((w) => w.message).join(' ')}`, { modal: true }, 'Run Anyway', PREVIEW_ACTION);
      if (go === PREVIEW_ACTION) void vscode.commands.executeCommand('winrm.previewCommand', previewArgument(req));
      if (go !== 'Run Anyway') return undefined;
    }
    if (!(await this.credentials.confirmTransport(host))) return undefined;
    const password = await this.credentials.password(host);
    if (password === undefined) return undefined;
    let caPem: string | undefined;
    try {
      caPem = await this.store.readCaPem(host);
    } catch (err) {
      void vscode.window.showErrorMessage((err as Error).message);
      return undefined;
    }
    return this.execute(req, plan, password, caPem);
  }

  private async execute(req: RunRequest, plan: LaunchPlan, password: string, caPem: string | undefined): Promise<RunRecord> {
    const { host } = req;
    const id = this.nextId++;
    const startedAt = new Date();
    const record: RunRecord = { id, hostId: host.id, hostName: host.name, source: req.source, language: req.language, style: req.style, profile: req.profile, state: 'running' };
    const warnings: Pick<LaunchWarning, 'severity' | 'message'>[] = [...plan.warnings];
    if (host.tls?.insecureSkipVerify && /^https:/i.test(host.url)) warnings.push({ severity: 'warning', message: 'Certificate verification is OFF for this host (set in its settings).' });
    const description: RunDescription = {
      runId: id, hostName: host.name, address: describeAddress(host.url), language: req.language, style: req.style, profile: req.profile,
      source: req.source, startedAt, arguments: req.args.length ? summarizeArguments(req.args, 200) : undefined,
    };
    const destination = vscode.workspace.getConfiguration('winrm').get<string>('output.destination', 'both');
    const toChannel = destination !== 'terminal';
    const toTerminal = destination !== 'channel';
    const secrets = () => [password, ...this.known.list()];
    const clean = (text: string) => scrub(text, secrets());

    const active: ActiveRun = { record, abort: new AbortController() };
    this.active.set(id, active);
    this.changeEmitter.fire();
    this.log.info(`Run #${id} on ${host.name} (${host.url}): ${req.language}, ${req.style}, ${req.profile}, ${req.source}`);

    if (toChannel) {
      this.output.writer.begin(description, warnings);
      if (!toTerminal) this.output.show(true);
    }
    if (toTerminal) {
      const pty = new RunTerminal(`WinRM #${id}: ${host.name}`, {
        interrupt: () => void this.interrupt(id),
        terminate: () => this.cancel(id),
        closed: () => this.cancel(id),
      });
      active.terminal = pty;
      this.terminals.set(id, pty);
      if (this.terminals.size > 50) this.terminals.delete(this.terminals.keys().next().value!);
      pty.header(formatRunHeader(description, warnings));
      pty.show(true);
    }

    const timeoutSeconds = vscode.workspace.getConfiguration('winrm').get<number>('run.timeoutSeconds', 0);
    const deadline = timeoutSeconds > 0 ? Date.now() + timeoutSeconds * 1000 : undefined;
    const fingerprint = JSON.stringify(toStoredHost(host)) + createHash('sha256').update(password).update('\0').update(caPem ?? '').digest('hex');
    let outcome: RunOutcome;
    let stdout = '';
    let stderr = '';
    let exitCode: number | undefined;
    let failure: unknown;
    const lease = this.pool.acquire(host.id, fingerprint, () => new WinrmSession(sessionOptionsFor(host, password, { caPem, trace: this.log.traceSink(secrets) })));
    try {
      const run = runScript(lease.resource, plan, { signal: active.abort.signal, deadline });
      active.run = run;
      for await (const chunk of run) {
        const text = clean(chunk.text);
        if (chunk.stream === 'stdout') { if (stdout.length < OUTPUT_KEEP) stdout += text; } else if (stderr.length < OUTPUT_KEEP) stderr += text;
        if (toChannel) this.output.writer.write(id, chunk.stream, text);
        active.terminal?.write(chunk.stream, text);
      }
      exitCode = await run.exitCode;
      record.exitCode = exitCode;
      if (run.persistent) {
        // The loop's marker and the error after it never reach the stream: the verdict comes from the loop.
        const result = await run.persistent;
        const verdict = persistentVerdict({ ...result, message: result.message && clean(result.message), connectorError: result.connectorError && clean(result.connectorError) }, plan);
        for (const note of verdict.notes) {
          if (toChannel) this.output.writer.note(id, note);
          active.terminal?.note(note);
        }
        outcome = { kind: 'exit', exitCode, durationMs: Date.now() - startedAt.getTime(), connectorMessage: verdict.connectorMessage, detail: verdict.detail, stoppedBy: active.stoppedBy };
        record.connectorError = verdict.connectorMessage ?? verdict.detail;
        record.loopOutcome = result.outcome;
        record.newLoop = result.newLoop;
        record.state = verdict.ok ? 'succeeded' : active.stoppedBy ? 'cancelled' : 'failed';
      } else {
        const verdict = interpretResult(plan, { exitCode, stdout, stderr });
        const connectorMessage = plan.profile !== 'safe' ? verdict.connectorWouldShow.error : undefined;
        if (plan.profile !== 'safe' && verdict.stderrHiddenByConnector && toChannel) this.output.writer.note(id, 'The stderr lines above are dropped by the connector (only its trace log sees them).');
        outcome = { kind: 'exit', exitCode, durationMs: Date.now() - startedAt.getTime(), connectorMessage, stoppedBy: active.stoppedBy };
        record.connectorError = connectorMessage;
        record.state = verdict.ok && exitCode === 0 ? 'succeeded' : active.stoppedBy ? 'cancelled' : 'failed';
      }
    } catch (err) {
      failure = err;
      if (err instanceof CancelledError || (active.abort.signal.aborted && !(err instanceof TimeoutError))) {
        outcome = { kind: 'cancelled', durationMs: Date.now() - startedAt.getTime() };
        record.state = 'cancelled';
      } else {
        const message = clean(describeError(err));
        outcome = { kind: 'error', message, durationMs: Date.now() - startedAt.getTime() };
        record.state = 'failed';
        record.error = message;
        this.log.error(`Run #${id} on ${host.name}: ${message}`);
      }
    } finally {
      // After a cancel or an error the session is closed, which deletes its shells.
      await lease.release(record.state === 'cancelled' || failure !== undefined);
    }
    record.durationMs = outcome.durationMs;
    const footer = formatRunFooter(id, outcome);
    if (toChannel) this.output.writer.end(id, outcome);
    active.terminal?.finish(footer, outcome.kind === 'exit' ? outcome.exitCode : undefined);
    this.log.info(`Run #${id} ended: ${record.state}${exitCode !== undefined ? `, exit code ${exitCode}` : ''}`);
    this.active.delete(id);
    this.finished.push(record);
    if (this.finished.length > 50) this.finished.shift();
    this.changeEmitter.fire();
    if (this.active.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    if (record.state === 'failed') void this.reportFailure(record, failure, host);
    return record;
  }

  private async reportFailure(record: RunRecord, failure: unknown, host: HostEntry): Promise<void> {
    const badPassword = failure instanceof AuthError && failure.reason === 'bad-credentials';
    const what = record.error ?? (record.connectorError ? `${record.connectorError}` : `exit code ${record.exitCode}`);
    const actions = badPassword ? [REENTER_PASSWORD_ACTION, FAILED_RUN_ACTION] : [FAILED_RUN_ACTION];
    const choice = await vscode.window.showErrorMessage(`WinRM run #${record.id} on ${record.hostName} failed: ${what}`, ...actions);
    if (choice === FAILED_RUN_ACTION) {
      const t = this.terminals.get(record.id);
      if (vscode.workspace.getConfiguration('winrm').get<string>('output.destination', 'both') === 'terminal' && t) t.show(false);
      else this.output.show(false);
    } else if (choice === REENTER_PASSWORD_ACTION) {
      await this.credentials.forget(host.id);
      await this.pool.closeHost(host.id);
      await this.credentials.prompt(host, 'The host rejected the last password.');
    }
  }

  async interrupt(runId: number): Promise<void> {
    const a = this.active.get(runId);
    if (!a?.run) return;
    if (vscode.workspace.getConfiguration('winrm').get<string>('output.destination', 'both') !== 'terminal') this.output.writer.note(runId, 'Ctrl+C sent to the remote command.');
    // Set before sending: the command may end from the Ctrl+C before the send resolves.
    a.stoppedBy ??= 'interrupt';
    await a.run.interrupt().catch((err) => {
      // It never reached the command: however the run ends, the user did not cause it.
      if (a.stoppedBy === 'interrupt') a.stoppedBy = undefined;
      this.log.warn(`Ctrl+C to run #${runId} failed: ${describeError(err)}`);
    });
  }

  /** Stop a run: terminate the command; the session (and so its shell) is then closed. */
  cancel(runId: number): void {
    const a = this.active.get(runId);
    if (!a) return;
    a.stoppedBy = 'stop';
    a.abort.abort();
    a.run?.cancel();
  }

  /** Trace sink for sessions made outside runs (Test Connection). */
  traceSink() {
    return this.log.traceSink(() => this.known.list());
  }

  logLine(text: string): void {
    this.log.info(text);
  }

  /** A host's settings changed or it was removed: drop its idle session (and so its loops). */
  async forgetHost(hostId: string): Promise<void> {
    await this.pool.closeHost(hostId);
    this.known.delete(hostId);
    this.changeEmitter.fire();
  }

  /** The powerhell/exchange loops kept in the hosts' pooled sessions. */
  loops(): LoopInfo[] {
    const out: LoopInfo[] = [];
    for (const hostId of this.pool.keptHosts()) {
      const kept = this.pool.kept(hostId);
      if (!kept) continue;
      for (const l of persistentLoops(kept.resource)) out.push({ hostId, language: l.kind, profile: l.profile, state: l.state });
    }
    return out;
  }

  /** Hosts with a loop up (variables that Reset Session would drop). */
  hostsWithLoops(): Set<string> {
    return new Set(this.loops().filter((l) => l.state !== 'stopped').map((l) => l.hostId));
  }

  /**
   * Reset Session: ends the host's powerhell/exchange loops; the next run starts
   * a new loop without earlier variables. Refused while a run uses the session.
   */
  async resetSession(hostId: string): Promise<{ reset: number } | { busy: RunRecord[] }> {
    const kept = this.pool.kept(hostId);
    if (!kept) return { reset: 0 };
    if (kept.busy) return { busy: this.activeRuns.filter((r) => r.hostId === hostId) };
    const reset = await resetPersistentSessions(kept.resource);
    this.log.info(`Reset Session on ${this.store.registry.get(hostId)?.name ?? hostId}: ${reset} PowerShell loop(s) ended.`);
    this.changeEmitter.fire();
    return { reset };
  }

  async shutdown(): Promise<void> {
    for (const id of this.active.keys()) this.cancel(id);
    await Promise.race([this.whenIdle(), new Promise((r) => setTimeout(r, 15_000))]);
    await this.pool.closeAll();
  }

  dispose(): void {
    for (const id of this.active.keys()) this.cancel(id);
    void this.pool.closeAll();
    this.changeEmitter.dispose();
  }
}

/** What Preview Command needs to show this request's plan (not the host's defaults). */
export interface PreviewArgument {
  hostId: string;
  language: Language;
  style: ArgumentStyle;
  profile: ProfileName;
  args: NamedArgument[];
  code: string;
  source: string;
}

function previewArgument(req: RunRequest): PreviewArgument {
  return { hostId: req.host.id, language: req.language, style: req.style, profile: req.profile, args: req.args, code: req.code, source: req.source };
}

