// Runs the WinRM test host from the command line:
//   node out/test/host/main.js [--port P] [--https] [--user U] [--password W] [--bind 127.0.0.1]
//       [--certificate-name NAME] [--max-envelope-kb N] [--max-shells N] [--no-wine]
// Defaults: port 5985 (5986 with --https), user vagrant, password $WINRM_PASSWORD or vagrant.
import { startTestHost, TestHostOptions } from './host';

function usage(message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write(
    'usage: node out/test/host/main.js [--port P] [--https] [--user U] [--password W] [--bind 127.0.0.1]\n' +
    '       [--certificate-name NAME] [--max-envelope-kb N] [--max-shells N] [--no-wine]\n',
  );
  process.exit(2);
}

function parse(argv: string[]): TestHostOptions {
  const o: TestHostOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { const v = argv[++i]; if (v === undefined) usage(`${a} needs a value`); return v; };
    const int = () => { const v = Number(value()); if (!Number.isInteger(v) || v < 0) usage(`${a} needs a number`); return v; };
    switch (a) {
      case '--port': o.port = int(); break;
      case '--https': o.https = true; break;
      case '--user': o.user = value(); break;
      case '--password': o.password = value(); break;
      case '--bind': o.bind = value(); break;
      case '--certificate-name': o.certificateName = value(); break;
      case '--max-envelope-kb': o.maxEnvelopeSizeKb = int(); break;
      case '--max-shells': o.maxShellsPerUser = int(); break;
      case '--no-wine': o.wine = false; break;
      case '-h': case '--help': usage();
      default: usage(`unknown option ${a}`);
    }
  }
  if (o.port === undefined) o.port = o.https ? 5986 : 5985;
  return o;
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`[winrm-test-host] ${line}\n`);
  const host = await startTestHost({ ...options, log });
  log(`PowerShell: ${host.pwsh ?? 'MISSING (powershell commands answer an error)'}`);
  log(`cmd.exe: ${host.wine ? `wine (${host.wine})` : 'MISSING wine (cmd lines answer "is not recognized")'}`);
  process.stdout.write(`WinRM test host listening on ${host.url}\n`);
  if (host.caPemPath) process.stdout.write(`CA certificate (trust it for HTTPS): ${host.caPemPath}\n`);
  process.stdout.write(`user ${host.user}\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    await host.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  process.stderr.write(`WinRM test host failed to start: ${(e as Error).message}\n`);
  process.exit(1);
});
