// The run commands: Run File, Run Selection, Run with Arguments, Run with
// Options, Re-run Last, Stop, Preview Command (with the host's defaults, a
// run's own choices, or choices asked for). What runs comes from the
// editor (unsaved and untitled documents included); the host, style and
// profile from the host's defaults unless chosen for this run.
import * as vscode from 'vscode';
import { RUN_LANGUAGES, detectLanguage, recallRun, rememberRun, scriptTextOf, summarizeArguments, type NamedArgument, type RunLanguage } from '../core/format';
import { ARGUMENT_STYLES, PROFILES, describeAddress, type ArgumentStyle, type HostEntry, type ProfileName } from '../core/hosts';
import { formatPreview } from '../core/launch';
import { promptArguments } from './arguments-prompt';
import type { HostStore } from './host-store';
import { PROFILE_DESCRIPTIONS, STYLE_DESCRIPTIONS } from './host-wizard';
import { askPick } from './quick-input';
import type { PreviewArgument, RunRecord, RunRequest, Runner } from './runner';

export const RUN_MEMORY_KEY = 'winrm.runMemory';
export const PREVIEW_SCHEME = 'winrm-preview';
export const HOST_PICK_PLACEHOLDER = 'Run on which host?';
export const LANGUAGE_PICK_PLACEHOLDER = 'Language for this run';
export const STYLE_PICK_PLACEHOLDER = 'Argument style for this run';
export const PROFILE_PICK_PLACEHOLDER = 'Profile for this run';
export const STOP_PICK_PLACEHOLDER = 'Stop which run?';

interface Target {
  code: string;
  source: string;
  fileKey: string;
  fileName: string;
  language: RunLanguage;
}

interface Choices {
  host: HostEntry;
  language: RunLanguage;
  style: ArgumentStyle;
  profile: ProfileName;
  args: NamedArgument[];
}

export class RunCommands implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private lastRequest: { request: RunRequest; uri?: vscode.Uri; wholeFile: boolean } | undefined;
  private readonly previews = new Map<string, string>();
  private readonly previewChanged = new vscode.EventEmitter<vscode.Uri>();
  private previewCount = 0;

  constructor(private readonly context: vscode.ExtensionContext, private readonly store: HostStore, private readonly runner: Runner) {
    const reg = (id: string, fn: (...args: unknown[]) => unknown) => this.disposables.push(vscode.commands.registerCommand(id, fn));
    reg('winrm.runFile', (arg) => this.run({ whole: true, host: hostFrom(arg, store) }));
    reg('winrm.runSelection', () => this.run({ whole: false }));
    reg('winrm.runWithArguments', () => this.run({ whole: true, askArguments: true }));
    reg('winrm.runWithOptions', () => this.run({ whole: true, askArguments: true, askOptions: true }));
    reg('winrm.rerunLast', () => this.rerun());
    reg('winrm.stop', (arg) => this.stop(typeof arg === 'number' ? arg : undefined));
    reg('winrm.previewCommand', (arg) => (isPreviewArgument(arg) ? this.previewRequest(arg) : this.preview()));
    reg('winrm.previewWithOptions', () => this.previewWithOptions());
    reg('winrm.hosts.runFileHere', (arg) => this.run({ whole: true, host: hostFrom(arg, store) }));
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, {
        onDidChange: this.previewChanged.event,
        provideTextDocumentContent: (uri) => this.previews.get(uri.toString()) ?? '',
      }),
      this.previewChanged,
    );
  }

  /** The editor's text to run: the whole document, or the selection (the current line when nothing is selected). */
  private async target(whole: boolean): Promise<Target | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showErrorMessage('Open a PowerShell or cmd script to run it on a host.');
      return undefined;
    }
    const doc = editor.document;
    const fileName = doc.isUntitled ? doc.uri.path : doc.fileName;
    const shortName = doc.isUntitled ? doc.uri.path : vscode.workspace.asRelativePath(doc.uri);
    let code: string;
    let source: string;
    if (whole) {
      code = doc.getText();
      source = shortName + (doc.isDirty ? ' (unsaved)' : '');
    } else {
      const sel = editor.selection;
      if (sel.isEmpty) {
        code = doc.lineAt(sel.active.line).text;
        source = `line ${sel.active.line + 1} of ${shortName}`;
      } else {
        code = doc.getText(sel);
        source = `selection of ${shortName} (lines ${sel.start.line + 1}-${sel.end.line + 1})`;
      }
    }
    code = scriptTextOf(code);
    if (!code.trim()) {
      void vscode.window.showWarningMessage('Nothing to run: the text is empty.');
      return undefined;
    }
    const fileKey = doc.uri.toString();
    const remembered = recallRun(this.context.workspaceState.get(RUN_MEMORY_KEY), fileKey);
    let language = detectLanguage(doc.languageId, fileName) ?? (remembered?.language as RunLanguage | undefined);
    if (!language || !RUN_LANGUAGES.includes(language)) {
      const picked = await askPick<RunLanguage>({ title: shortName, placeholder: `${LANGUAGE_PICK_PLACEHOLDER} (cannot tell from "${doc.languageId}")`, items: RUN_LANGUAGES.map((l) => ({ label: l, value: l })) });
      if (typeof picked !== 'string') return undefined;
      language = picked;
    }
    return { code, source, fileKey, fileName: shortName, language };
  }

  async pickHost(placeholder = HOST_PICK_PLACEHOLDER, preselect?: string): Promise<HostEntry | undefined> {
    const hosts = this.store.registry.all();
    if (hosts.length === 0) {
      const add = await vscode.window.showInformationMessage('No WinRM host is configured yet.', 'Add Host');
      if (add === 'Add Host') await vscode.commands.executeCommand('winrm.hosts.add');
      return this.store.registry.all()[0];
    }
    const defaultId = this.store.registry.defaultHostId();
    const picked = await askPick<string>({
      title: 'WinRM', placeholder, active: preselect ?? defaultId,
      items: hosts.map((h) => ({ label: `${h.id === defaultId ? '$(star-full) ' : ''}${h.name}`, description: `${describeAddress(h.url)} · ${h.auth} · ${h.user}`, detail: h.source === 'workspace' ? 'from .vscode/winrm-hosts.json' : undefined, value: h.id })),
    });
    return typeof picked === 'string' ? this.store.registry.get(picked) : undefined;
  }

  private async choose(target: Target, opts: { host?: HostEntry; askArguments?: boolean; askOptions?: boolean; remember?: boolean }): Promise<Choices | undefined> {
    const memory = recallRun(this.context.workspaceState.get(RUN_MEMORY_KEY), target.fileKey);
    let host = opts.host;
    if (!host && opts.askOptions) host = await this.pickHost(HOST_PICK_PLACEHOLDER, memory?.hostId);
    else if (!host) {
      host = this.store.registry.defaultHost();
      if (!host) {
        // No default yet: the host picked now becomes it, so the next run does not ask again.
        host = await this.pickHost();
        if (host) await this.store.registry.setDefault(host.id);
      }
    }
    if (!host) return undefined;
    let language = target.language;
    let style = host.style;
    let profile = host.profile;
    if (opts.askOptions) {
      const lang = await askPick<RunLanguage>({ title: target.fileName, placeholder: LANGUAGE_PICK_PLACEHOLDER, active: language, items: RUN_LANGUAGES.map((l) => ({ label: l, description: l === target.language ? 'from the file' : undefined, value: l })) });
      if (typeof lang !== 'string') return undefined;
      language = lang;
      const st = await askPick<ArgumentStyle>({ title: target.fileName, placeholder: STYLE_PICK_PLACEHOLDER, active: (memory?.style as ArgumentStyle | undefined) ?? style, items: ARGUMENT_STYLES.map((x) => ({ label: x, description: `${x === host!.style ? '(host default) ' : ''}${STYLE_DESCRIPTIONS[x]}`, value: x })) });
      if (typeof st !== 'string') return undefined;
      style = st;
      const pr = await askPick<ProfileName>({ title: target.fileName, placeholder: PROFILE_PICK_PLACEHOLDER, active: (memory?.profile as ProfileName | undefined) ?? profile, items: PROFILES.map((x) => ({ label: x, description: `${x === host!.profile ? '(host default) ' : ''}${PROFILE_DESCRIPTIONS[x]}`, value: x })) });
      if (typeof pr !== 'string') return undefined;
      profile = pr;
    }
    let args = memory?.args ?? [];
    if (opts.askArguments) {
      const chosen = await promptArguments(args, target.fileName);
      if (!chosen) return undefined;
      args = chosen;
    }
    if (opts.remember !== false) {
      const entry = { args, usedAt: Date.now(), language, hostId: host.id, ...(opts.askOptions ? { style, profile } : { style: memory?.style, profile: memory?.profile }) };
      await this.context.workspaceState.update(RUN_MEMORY_KEY, rememberRun(this.context.workspaceState.get(RUN_MEMORY_KEY), target.fileKey, entry));
    }
    return { host, language, style, profile, args };
  }

  private async run(opts: { whole: boolean; host?: HostEntry; askArguments?: boolean; askOptions?: boolean }): Promise<RunRecord | undefined> {
    const target = await this.target(opts.whole);
    if (!target) return undefined;
    const choices = await this.choose(target, opts);
    if (!choices) return undefined;
    const request: RunRequest = { ...choices, code: target.code, source: target.source };
    this.lastRequest = { request, uri: vscode.window.activeTextEditor?.document.uri, wholeFile: opts.whole };
    return this.runner.start(request);
  }

  private async rerun(): Promise<RunRecord | undefined> {
    const last = this.lastRequest;
    if (!last) {
      void vscode.window.showInformationMessage('Nothing ran yet in this window.');
      return undefined;
    }
    let { request } = last;
    // A whole-file run picks up the file's current text; a selection repeats the same text.
    if (last.wholeFile && last.uri) {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === last.uri!.toString());
      if (doc) request = { ...request, code: scriptTextOf(doc.getText()) };
    }
    const host = this.store.registry.get(request.host.id);
    if (!host) {
      void vscode.window.showErrorMessage(`The host "${request.host.name}" of the last run no longer exists.`);
      return undefined;
    }
    return this.runner.start({ ...request, host });
  }

  private async stop(runId?: number): Promise<void> {
    const runs = this.runner.activeRuns;
    if (runs.length === 0) {
      void vscode.window.showInformationMessage('No WinRM run is in flight.');
      return;
    }
    let id = runId;
    if (id === undefined && runs.length === 1) id = runs[0].id;
    if (id === undefined) {
      const picked = await askPick<number>({ title: 'Stop', placeholder: STOP_PICK_PLACEHOLDER, items: runs.map((r) => ({ label: `#${r.id} ${r.hostName}`, description: r.source, value: r.id })) });
      if (typeof picked !== 'number') return;
      id = picked;
    }
    this.runner.cancel(id);
  }

  /** Shows what Run File on Host would send, without running: in an editor tab. */
  private async preview(): Promise<void> {
    const target = await this.target(true);
    if (!target) return;
    const memory = recallRun(this.context.workspaceState.get(RUN_MEMORY_KEY), target.fileKey);
    const host = this.store.registry.defaultHost() ?? (await this.pickHost());
    if (!host) return;
    // Exactly what Run File on Host would send: the host's style and profile, the file's remembered arguments.
    await this.showPreview(target.fileName, { host, code: target.code, language: target.language, style: host.style, profile: host.profile, args: memory?.args ?? [] }, 'Run File on Host');
  }

  /** The same picks as Run with Options (host, language, style, profile), then the preview of that plan. */
  private async previewWithOptions(): Promise<void> {
    const target = await this.target(true);
    if (!target) return;
    // A preview changes nothing: the choices are not remembered for the file.
    const choices = await this.choose(target, { askOptions: true, remember: false });
    if (!choices) return;
    await this.showPreview(target.fileName, { ...choices, code: target.code }, 'Run with Options and these choices');
  }

  /** A run's own plan (its host, language, style, profile and arguments), e.g. after it was refused. */
  private async previewRequest(arg: PreviewArgument): Promise<void> {
    const host = this.store.registry.get(arg.hostId);
    if (!host) {
      void vscode.window.showErrorMessage('The host of that run no longer exists.');
      return;
    }
    await this.showPreview(arg.source, { host, code: arg.code, language: arg.language, style: arg.style, profile: arg.profile, args: arg.args }, 'the same run');
  }

  private async showPreview(fileName: string, req: Omit<RunRequest, 'source'>, runsWith: string): Promise<void> {
    let text: string;
    try {
      const plan = this.runner.plan(req);
      text = `Preview for ${fileName} on ${req.host.name} (${describeAddress(req.host.url)}) with ${summarizeArguments(req.args, 200)}\nNothing was sent. The same plan runs with ${runsWith}.\n\n${formatPreview(plan)}\n`;
    } catch (err) {
      text = `Cannot plan this run: ${(err as Error).message}\n`;
    }
    const uri = vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: `/${fileName.replace(/[\\/]/g, '_')}.preview.txt`, query: String(++this.previewCount) });
    this.previews.set(uri.toString(), text);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** A host given by a tree item or a command argument (id or entry). */
export function hostFrom(arg: unknown, store: HostStore): HostEntry | undefined {
  if (typeof arg === 'string') return store.registry.get(arg);
  if (arg && typeof arg === 'object') {
    const o = arg as { hostId?: unknown; id?: unknown };
    if (typeof o.hostId === 'string') return store.registry.get(o.hostId);
    if (typeof o.id === 'string') return store.registry.get(o.id);
  }
  return undefined;
}

function isPreviewArgument(arg: unknown): arg is PreviewArgument {
  if (!arg || typeof arg !== 'object') return false;
  const o = arg as Partial<PreviewArgument>;
  return typeof o.hostId === 'string' && typeof o.code === 'string' && typeof o.language === 'string' && typeof o.style === 'string' && typeof o.profile === 'string' && Array.isArray(o.args);
}
