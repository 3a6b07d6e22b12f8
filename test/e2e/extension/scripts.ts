// The scripts the e2e tests open and run, written into each test's workspace folder. They
// run in real pwsh behind the test host.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NON_ASCII = 'Grüße, Zoë ✓ Ελληνικά';

export const SCRIPTS = {
  // Dashed style appends ` -Name:'value'` to the text, so the file ends with the script
  // block's call and no newline (a newline would end the statement first).
  'dashed.ps1': [
    '# Dashed style: the arguments are appended to the last line as -Name:\'value\'.',
    '& {',
    '    param([string]$Name, [int]$Count)',
    '    Write-Output "dashed Name=[$Name] Count=[$Count] on $env:COMPUTERNAME"',
    `    Write-Output "${NON_ASCII}"`,
    '    [Console]::Error.WriteLine("warning: $Count item(s) skipped")',
    '    exit (40 + $Count)',
    '}',
  ].join('\n'),
  // Variables style sets $name = 'value' in front of the text, as the connector does.
  'variables.ps1': [
    'Write-Output "variables identity=[$identity] givenName=[$givenName]"',
    'foreach ($g in @($groups)) { Write-Output "group=[$g]" }',
    'Write-Output "manager is null: $($null -eq $manager)"',
    `Write-Output "${NON_ASCII}"`,
    'exit 0',
    '',
  ].join('\n'),
  'hello.ps1': [
    'Write-Output "Hello from $env:COMPUTERNAME"',
    `Write-Output "${NON_ASCII}"`,
    'Write-Error "Something went wrong on purpose"',
    'exit 3',
    '',
  ].join('\n'),
  // Long enough that only Ctrl+C ends it within the test's time.
  'long.ps1': [
    '1..600 | ForEach-Object { Write-Output "tick $_"; Start-Sleep -Milliseconds 200 }',
    '',
  ].join('\n'),
} as const;

export function writeScripts(dir: string, names: (keyof typeof SCRIPTS)[] = Object.keys(SCRIPTS) as (keyof typeof SCRIPTS)[]): void {
  mkdirSync(dir, { recursive: true });
  for (const n of names) writeFileSync(join(dir, n), SCRIPTS[n]);
}
