// The password comes from WINRM_PASSWORD, else a hidden prompt on a terminal,
// else an error: never from a flag, where it would land in shell history.
import { ConfigError } from '../core/errors';

export async function readPassword(): Promise<string> {
  const fromEnv = process.env.WINRM_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new ConfigError('No password: WINRM_PASSWORD is not set and there is no terminal to ask on.', 'Set WINRM_PASSWORD in the environment.');
  }
  return promptHidden('Password: ');
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const finish = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err); else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new ConfigError('Cancelled at the password prompt.'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
