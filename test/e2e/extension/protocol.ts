// What the in-host suite (test/e2e/in-host/extension-suite.ts) and the Node side of
// test/e2e/extension-in-host.test.ts share: the environment the suite is started with, and
// the "hands" protocol. Code in the extension host cannot type into a quick input or click a
// dialog button, so the suite logs what the user does next (`[hands] {...}`) and the Node side
// does it through the page; the suite then awaits the command that asked.

/** Environment of code-server, its extension host and so the suite. */
export const SUITE_ENV = {
  httpsUrl: 'E2E_WINRM_HTTPS_URL',
  httpUrl: 'E2E_WINRM_HTTP_URL',
  /** The CA file, relative to the workspace folder (as a team file would name it). */
  caFile: 'E2E_WINRM_CA_FILE',
  user: 'E2E_WINRM_USER',
  /**
   * A file holding the canary password (outside every folder searched for it): the suite
   * checks that nothing it can read contains it. Not the value itself: code-server logs its
   * environment at trace level, so an environment variable would leak it into the logs.
   */
  canaryFile: 'E2E_WINRM_CANARY_FILE',
} as const;

export const HANDS_PREFIX = '[hands] ';

/**
 * One user action on the open quick input or dialog. `expect` must occur in the quick input's
 * title, placeholder or prompt (or the dialog's message) before anything is done.
 */
export type HandAction =
  /**
   * Type `text` (or, with `secret`, the canary password, which never travels in a log line) and
   * press Enter; with `waitRow` (a regular expression) only once a row label matching it shows.
   */
  | { do: 'type'; expect: string; text?: string; secret?: boolean; waitRow?: string }
  /** Click the row labelled `label`. */
  | { do: 'pick'; expect: string; label: string }
  /** Click the modal dialog's button `label`. */
  | { do: 'button'; expect: string; label: string };

export function handsLine(action: HandAction): string {
  return HANDS_PREFIX + JSON.stringify(action);
}
