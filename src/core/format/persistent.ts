// The verdict of a powerhell/exchange run, from how the loop says the script
// ended (PersistentScriptResult), not from the streamed text: the marker line
// and the error after it never reach the stream.
import type { PersistentScriptResult } from '../launch/powerhell-session';

export interface PersistentVerdict {
  /** The run succeeded: the marker came with no error, or the script called `exit` (code 0). */
  ok: boolean;
  exitCode: number;
  /** Connector profiles: what the connector reports (the footer's "The connector would report"). */
  connectorMessage?: string;
  /** The safe profile: the failure in our words (the connector's words are the connector profiles' business). */
  detail?: string;
  /** Lines for the output after the script's text: loop kept or new, loop ended, stderr the connector drops. */
  notes: string[];
}

export function persistentVerdict(result: PersistentScriptResult, plan: { language: string; profile: string }): PersistentVerdict {
  const loop = `${plan.language} loop`;
  const ok = result.outcome === 'ok' || (result.outcome === 'loop-exit' && result.exitCode === 0);
  const message = result.message ?? result.connectorError;
  const connectorProfile = plan.profile !== 'safe';
  const notes: string[] = [];
  if (result.outcome !== 'start-failed') {
    notes.push(result.newLoop
      ? `Started a new ${loop}: the variables this run set are kept for the next ${plan.language} run on this host (WinRM: Reset Session ends the loop).`
      : `Ran in the ${loop} kept from earlier runs: their variables were still set.`);
  }
  if (result.outcome === 'loop-exit') {
    notes.push(result.exitCode === 0
      ? `The script called exit: the ${loop} ended, the next run starts a new one (variables are gone).`
      : `The ${loop} ended with exit code ${result.loopExitCode ?? result.exitCode}: the next run starts a new one (variables are gone).`);
  }
  if (connectorProfile && result.stderrHiddenByConnector) notes.push('The stderr lines above are dropped by the connector (only its trace log sees them).');
  const verdict: PersistentVerdict = { ok, exitCode: result.exitCode, notes };
  if (!ok && message) {
    if (connectorProfile) verdict.connectorMessage = message;
    else if (result.outcome === 'start-failed') verdict.detail = `The ${loop} did not start: ${message}`;
    else if (result.outcome === 'error') verdict.detail = `The script reported an error: ${message}`;
    else verdict.detail = `The ${loop} ended: ${message}`;
  }
  return verdict;
}
