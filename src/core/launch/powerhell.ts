// The persistent languages `powerhell` and `exchange`: one long-running
// PowerShell loop that reads scripts from stdin and ends each one's output with a
// prompt marker. Two protocols:
// - 'connector-1.1': powerhell 1.1's loop (PowerHellWinRmLoopImpl) byte for byte:
//   script lines up to a marker line, run with Invoke-Expression; a blank line
//   ends the script early (its known limitation).
// - 'safe': ours: each script is one base64 line (blank lines and any text are
//   safe), run in the loop's scope so variables persist, output fully rendered
//   before the marker, and the first line of the first error after the marker.
// Pure functions only: running them over WinRS is the session's job.

export const POWERHELL_PROMPT = ':::P0w3Rh3llPr0mPt:::';
export const EXCHANGE_INIT = 'Add-PSSnapin *Exchange*';

/** Text our safe exchange loop prints (stderr) before exiting when there is no Exchange shell. */
export const EXCHANGE_MISSING_MESSAGE =
  'EXCHANGE SNAP-IN NOT AVAILABLE: this host has no Exchange Management Shell (Add-PSSnapin *Exchange* found nothing). ' +
  'Point the host at the Exchange server, or install the Exchange management tools.';
export const EXCHANGE_MISSING_EXIT_CODE = 64;

/** powerhell 1.1's loop script; `init` is the exchange snap-in line or nothing. */
export function connectorLoopScript(init: string | undefined, prompt = POWERHELL_PROMPT): string {
  let s = '';
  if (init !== undefined) s += init + '\n';
  s += `write-host '${prompt}'\r\n`;
  s += 'while($true) {\r\n';
  s += "  $powerhellCommand = ''\r\n";
  s += '  while($powerhellLine = [Console]::In.ReadLine()) {\r\n';
  s += `    if($powerhellLine -eq "${prompt} exit") { exit }\r\n`;
  s += `    if($powerhellLine -eq "${prompt}") { break }\r\n`;
  s += '    $powerhellCommand = $powerhellCommand + $powerhellLine + "`n"\r\n';
  s += '  }\r\n';
  s += '  Invoke-Expression -ErrorVariable powerhellError $powerhellCommand\r\n';
  s += `  write-host '${prompt}'$powerhellError\r\n`;
  s += '  $powerhellError = ""\r\n';
  s += '}\r\n';
  return s;
}

/** What the 1.1 loop is sent for one script: the text, CRLF, the marker, CRLF. */
export function frameConnectorScript(scriptText: string, prompt = POWERHELL_PROMPT): Buffer {
  return Buffer.from(`${scriptText}\r\n${prompt}\r\n`, 'utf8');
}

/** What both loops are sent to end (the loop exits with code 0). */
export function loopExitInput(prompt = POWERHELL_PROMPT): Buffer {
  return Buffer.from(`${prompt} exit\r\n`, 'utf8');
}

const SAFE_EXCHANGE_INIT =
  'try { Add-PSSnapin *Exchange* -ErrorAction Stop } catch { }\r\n' +
  'if (-not (Get-Command -Name Get-Mailbox -ErrorAction SilentlyContinue)) {\r\n' +
  `  [Console]::Error.WriteLine('${EXCHANGE_MISSING_MESSAGE.replace(/'/g, "''")}')\r\n` +
  `  exit ${EXCHANGE_MISSING_EXIT_CODE}\r\n` +
  '}\r\n';

/** Our loop: one base64 (UTF-8) script per line. */
export function safeLoopScript(kind: 'powerhell' | 'exchange', prompt = POWERHELL_PROMPT): string {
  let s = kind === 'exchange' ? SAFE_EXCHANGE_INIT : '';
  s += `Write-Host '${prompt}'\r\n`;
  s += 'while ($null -ne ($powerhellLine = [Console]::In.ReadLine())) {\r\n';
  s += `  if ($powerhellLine -eq '${prompt} exit') { exit }\r\n`;
  s += "  if ($powerhellLine -eq '') { continue }\r\n";
  s += '  $powerhellError = $null\r\n';
  s += '  try {\r\n';
  s += '    $powerhellScript = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($powerhellLine))\r\n';
  // -NoNewScope: the script's variables and functions persist for the next one.
  // | Out-Default: its output is fully written before the marker.
  s += '    Invoke-Command -NoNewScope -ScriptBlock ([ScriptBlock]::Create($powerhellScript)) -ErrorVariable powerhellError | Out-Default\r\n';
  s += '  } catch {\r\n';
  s += '    $powerhellError = @($_)\r\n';
  s += '    [Console]::Error.WriteLine(($_ | Out-String))\r\n';
  s += '  }\r\n';
  s += "  $powerhellMessage = ''\r\n";
  s += '  if ($powerhellError) { $powerhellMessage = (([string]$powerhellError[0]) -split "\\r?\\n")[0] }\r\n';
  s += `  Write-Host ('${prompt} ' + $powerhellMessage)\r\n`;
  s += '}\r\n';
  return s;
}

/** One script for the safe loop: a single base64 line. */
export function frameSafeScript(scriptText: string): Buffer {
  return Buffer.from(Buffer.from(scriptText, 'utf8').toString('base64') + '\r\n', 'ascii');
}

export interface LoopOutput {
  /** Output before the marker: the script's result. */
  result: string;
  /** Text after the marker on its line (the first line of the first error), trimmed. */
  promptMessage: string;
  /** Set when the connector reports an error: promptMessage is not blank. */
  error?: string;
  /** How many characters of the input this script's output used (the marker line included). */
  consumed: number;
}

/**
 * Splits loop output at the first marker line. Returns undefined while the marker
 * has not arrived (or its line is not finished). The connector treats a
 * non-blank message after the marker as the script's error.
 */
export function parseLoopOutput(text: string, prompt = POWERHELL_PROMPT): LoopOutput | undefined {
  const at = text.indexOf(prompt);
  if (at < 0) return undefined;
  const eol = text.indexOf('\n', at);
  if (eol < 0) return undefined;
  const promptMessage = text.slice(at + prompt.length, eol).trim();
  return {
    result: text.slice(0, at),
    promptMessage,
    error: promptMessage === '' ? undefined : promptMessage,
    consumed: eol + 1,
  };
}

/** Lines a 1.1 loop would take as the end of the script (blank or whitespace-free empty). */
export function blankLineNumbers(scriptText: string): number[] {
  const lines = scriptText.split(/\r?\n/);
  const out: number[] = [];
  // Framing appends CRLF and the marker, so a final line break is a blank line too.
  lines.forEach((line, i) => {
    if (line === '' && scriptText !== '') out.push(i + 1);
  });
  return out;
}

/**
 * A readable explanation when a loop could not start or an Exchange cmdlet is
 * missing, from what the host printed; undefined when nothing points at that.
 */
export function explainLoopFailure(kind: 'powerhell' | 'exchange', exitCode: number | undefined, stdout: string, stderr: string): string | undefined {
  const all = `${stdout}\n${stderr}`;
  if (all.includes('EXCHANGE SNAP-IN NOT AVAILABLE') || (kind === 'exchange' && exitCode === EXCHANGE_MISSING_EXIT_CODE)) {
    return EXCHANGE_MISSING_MESSAGE;
  }
  if (kind === 'exchange') {
    if (/Add-PSSnapin/i.test(all) && /(not installed|No snap-ins|not recognized)/i.test(all)) return EXCHANGE_MISSING_MESSAGE;
    const missing = /The term '([A-Za-z]+-[A-Za-z]*(Mailbox|Mail|Exchange|Distribution|Recipient)[A-Za-z]*)' is not recognized/i.exec(all);
    if (missing) return `'${missing[1]}' is an Exchange cmdlet and this host's PowerShell does not have it. ${EXCHANGE_MISSING_MESSAGE}`;
  }
  if (exitCode !== undefined && !all.includes(POWERHELL_PROMPT)) {
    return `The PowerShell loop exited with code ${exitCode} before its first prompt.`;
  }
  return undefined;
}
