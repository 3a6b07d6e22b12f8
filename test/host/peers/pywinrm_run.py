#!/usr/bin/python3
"""Runs pywinrm (Debian's python3-winrm 0.3.0) against a WinRM endpoint.

Reads a JSON spec on stdin:
  {"url": ..., "user": ..., "password": ..., "transport": "basic" | "ntlm",
   "message_encryption": "auto" | "always" | "never" (ntlm only),
   "ca": "/path/ca.pem" | null, "ops": [{"kind": "cmd", "command": ..., "args": [...]},
                                         {"kind": "ps", "script": ...}]}
and prints one JSON list with, per operation, the status code and base64 stdout/stderr,
or the exception pywinrm raised (its class name and message). With NTLM, ntlm-auth
needs MD4: run it with OPENSSL_CONF pointing at a file that activates OpenSSL's
legacy provider.
"""
import base64
import json
import sys

import winrm


def b64(data):
    return base64.b64encode(data).decode('ascii')


def main():
    spec = json.load(sys.stdin)
    kwargs = {'transport': spec.get('transport', 'basic'),
              'operation_timeout_sec': spec.get('operation_timeout_sec', 20),
              'read_timeout_sec': spec.get('read_timeout_sec', 30)}
    if 'message_encryption' in spec:
        kwargs['message_encryption'] = spec['message_encryption']
    if spec['url'].startswith('https:'):
        kwargs['server_cert_validation'] = 'validate'
        if spec.get('ca'):
            kwargs['ca_trust_path'] = spec['ca']
    session = winrm.Session(spec['url'], auth=(spec['user'], spec['password']), **kwargs)
    results = []
    for op in spec['ops']:
        try:
            if op['kind'] == 'cmd':
                r = session.run_cmd(op['command'], op.get('args', []))
            else:
                r = session.run_ps(op['script'])
            results.append({'ok': True, 'status': r.status_code, 'stdout': b64(r.std_out), 'stderr': b64(r.std_err)})
        except Exception as e:  # the test asserts on the kind of failure
            results.append({'ok': False, 'error': type(e).__name__, 'message': str(e)})
    json.dump(results, sys.stdout)


if __name__ == '__main__':
    main()
