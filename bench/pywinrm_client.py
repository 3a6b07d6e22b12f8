"""pywinrm (Debian python3-winrm) as a benchmark client: one JSON job in argv[1],
one JSON line out. Run with Debian's /usr/bin/python3, the only one that has it.

  stream:  Session.run_cmd(command, args) after an untimed run_cmd('hostname'):
           the whole output comes back at the end.
  latency: `runs` timed run_cmd calls (a shell per run is all run_cmd does), after
           one untimed warm-up call.
  ttfb:    run_cmd of the timestamp command: the first line is available only
           when run_cmd returns.
"""
import json
import resource
import sys
import time

import winrm


def now_ms():
    return time.time() * 1000.0


def rss_bytes():
    # Current RSS from /proc (ru_maxrss is the peak, in KiB on Linux).
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def main():
    job = json.loads(sys.argv[1])
    transport = job.get('auth', 'basic')
    kwargs = {'message_encryption': 'always'} if transport == 'ntlm' else {}
    session = winrm.Session(job['url'], auth=(job['user'], job['password']), transport=transport, **kwargs)
    mode = job['mode']
    if mode == 'stream':
        # Untimed warm-up (connection), as every benchmark client does.
        session.run_cmd('hostname')
        rss_before = rss_bytes()
        cpu = time.process_time()
        started = now_ms()
        r = session.run_cmd(job['command'], job['args'])
        ms = now_ms() - started
        cpu_ms = (time.process_time() - cpu) * 1000.0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out = {'ms': ms, 'cpuMs': cpu_ms, 'bytes': len(r.std_out), 'stderrBytes': len(r.std_err), 'exitCode': r.status_code,
               'rssBefore': rss_before, 'peakRss': peak}
    elif mode == 'latency':
        session.run_cmd(job['command'], job['args'])
        times = []
        out_bytes = 0
        started = now_ms()
        for _ in range(job.get('runs', 200)):
            t = now_ms()
            r = session.run_cmd(job['command'], job['args'])
            out_bytes += len(r.std_out)
            times.append(now_ms() - t)
        out = {'runs': len(times), 'totalMs': now_ms() - started, 'times': times, 'outBytes': out_bytes}
    elif mode == 'ttfb':
        r = session.run_cmd(job['command'], job['args'])
        out = {'arrivals': [{'at': now_ms(), 'text': r.std_out.decode('utf-8', 'replace')}]}
    else:
        raise SystemExit('unknown mode ' + mode)
    sys.stdout.write(json.dumps(out) + '\n')


if __name__ == '__main__':
    main()
