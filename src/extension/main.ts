// WinRM Script Runner: the VS Code adapter over src/core. Each feature is a
// Disposable that registers its own commands; logic that does not need VS Code
// lives in src/core (hosts, format, launch, session).
//
// STABLE CONTRACT (end-to-end tests and keybindings rely on it; change only together):
//
// Commands (category "WinRM"):
//   winrm.runFile               Run File on Host            (editor; optional arg: host id or tree item)
//   winrm.runSelection          Run Selection on Host       (current line when nothing is selected)
//   winrm.runWithArguments      Run with Arguments...
//   winrm.runWithOptions        Run with Options...         (host, language, style, profile, then arguments)
//   winrm.rerunLast             Re-run Last
//   winrm.stop                  Stop Run                    (optional arg: run id)
//   winrm.selectDefaultHost     Select Default Host
//   winrm.previewCommand        Preview Command             (opens a winrm-preview: editor tab; the default host's
//                               style/profile and the file's remembered arguments. The "Preview Command" button
//                               of a refused run passes that run's own choices.)
//   winrm.previewWithOptions    Preview Command with Options...  (the Run with Options picks, without arguments, then
//                               the preview tab; nothing is remembered)
//   winrm.resetSession          Reset Session               (ends the host's powerhell/exchange loops; palette when
//                               context key winrm.hasLoops; tree items of hosts with a loop have ".loops" in their
//                               context value; optional arg: host id or tree item. From the palette with several
//                               such hosts: pick "Reset the PowerShell session of which host?")
//   winrm.showOutput            Show Output                 ("WinRM Output" channel)
//   winrm.showLog               Show Log                    ("WinRM" log channel)
//   winrm.hosts.add             Add Host
//   winrm.hosts.refresh         Refresh
//   winrm.hosts.edit / .duplicate / .remove / .setDefault / .testConnection / .copyAddress /
//   winrm.hosts.forgetPassword / .runFileHere / .openWorkspaceFile   (tree item context menu;
//                               from the palette they ask which host)
//
// Quick inputs, in order (titles / prompts / placeholders are constants exported from the files named):
//   Add Host (host-wizard.ts), title "Add Host", steps n/14 (HTTPS) — HTTP skips 12-14:
//     1 "A name for this host"  2 "Host name or URL"  3 pick "Protocol" (HTTPS | HTTP)
//     4 "Port (...)"  5 pick "Authentication" (unsupported schemes listed, refused when picked);
//       for NTLM and CredSSP, still step 5: pick "Message encryption" (auto | always | never; auto preselected)
//     6 "Domain (optional...)" (CredSSP: "Domain (required for CredSSP...)"; refused empty unless the user name
//       already names one)  7 "User name" (CredSSP: refused without a domain in step 6 or DOMAIN\user / user@domain)  8 "Password (leave empty ...)" (password box)
//     9 pick "Default argument style"  10 pick "Default profile"  11 "Code page (...)"
//     12 "CA certificate file (PEM)..."  13 "Server-name override..."  14 pick "Certificate verification"
//   Edit Host: the same, title `Edit Host "<name>"`, values prefilled.
//   Password when none is stored (credentials.ts): input titled "WinRM Password: <host>", then a pick
//     with placeholder "Remember this password?" (REMEMBER_CHOICES).
//   Basic over HTTP (credentials.ts): modal warning, button "Send Password over HTTP" (once per host).
//   Host choice (run-commands.ts): pick "Run on which host?" when there is no default host; the host
//     picked becomes the default.
//   Run with Arguments (arguments-prompt.ts): pick titled "Arguments for <file>"; type `name=value`,
//     Enter adds it; the item "$(play) Run" runs. `name` alone = null, `name[]=x` = list item.
//   Run with Options: picks "Run on which host?", "Language for this run", "Argument style for this
//     run", "Profile for this run", then the arguments pick.
//   Remove Host: modal with button "Remove".
//
// Output: channel "WinRM Output" (language id winrm-output), one terminal per run named
//   "WinRM #<run id>: <host name>", log channel "WinRM".
// Test API: activate() returns WinrmTestApi (below).
import * as vscode from 'vscode';
import { Credentials } from './credentials';
import { HostStore } from './host-store';
import { HostsView } from './hosts-view';
import { KnownSecrets, Log } from './log';
import { RunOutputChannel } from './output-channel';
import { RunCommands } from './run-commands';
import { ResetSession } from './reset-session';
import { Runner, type LoopInfo, type RunRecord } from './runner';
import { StatusBar } from './status-bar';

/** What end-to-end tests read; no secrets are reachable through it. */
export interface WinrmTestApi {
  /** Everything appended to "WinRM Output" (the last megabyte). */
  outputText(): string;
  /** The last lines written to the "WinRM" log, as written (scrubbed). */
  logText(): string;
  /** The most recent run (running or finished). */
  lastRun(): RunRecord | undefined;
  /** What the run's terminal showed, escape sequences included. */
  terminalText(runId: number): string | undefined;
  /** Resolves when no run is in flight. */
  whenIdle(): Promise<void>;
  /** Host ids and names, as the tree shows them. */
  hosts(): { id: string; name: string; url: string; source: string }[];
  /** Whether SecretStorage holds a password for the host id (never the password itself). */
  hasPassword(hostId: string): Promise<boolean>;
  /** powerhell/exchange loops kept in the hosts' sessions (state 'running' | 'busy' | 'stopped'). */
  loops(): LoopInfo[];
}

let runner: Runner | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<WinrmTestApi> {
  const known = new KnownSecrets();
  const log = new Log(known);
  const output = new RunOutputChannel();
  const store = new HostStore(context, log);
  const credentials = new Credentials(store.registry, known);
  runner = new Runner(store, credentials, known, output, log);
  const commands = new RunCommands(context, store, runner);
  const view = new HostsView(store, credentials, runner);
  const status = new StatusBar(store, runner, commands);
  const reset = new ResetSession(store, runner);
  context.subscriptions.push(
    log, output, store, runner, commands, view, status, reset,
    vscode.commands.registerCommand('winrm.showOutput', () => output.show(false)),
    vscode.commands.registerCommand('winrm.showLog', () => log.channel.show(false)),
  );
  await store.reloadWorkspaceHosts();
  log.info(`WinRM Script Runner ${context.extension.packageJSON.version} activated; ${store.registry.all().length} host(s).`);
  const activeRunner = runner;
  return {
    outputText: () => output.text(),
    logText: () => log.text(),
    lastRun: () => activeRunner.lastRun,
    terminalText: (id) => activeRunner.terminalText(id),
    whenIdle: () => activeRunner.whenIdle(),
    hosts: () => store.registry.all().map((h) => ({ id: h.id, name: h.name, url: h.url, source: h.source })),
    hasPassword: async (id) => (await store.registry.getPassword(id)) !== undefined,
    loops: () => activeRunner.loops(),
  };
}

/** Stops runs in flight and deletes their shells before the extension host goes away. */
export async function deactivate(): Promise<void> {
  await runner?.shutdown();
  runner = undefined;
}
