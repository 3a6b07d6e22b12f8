#!/usr/bin/python3
"""NTLM acceptor sidecar for the test WinRM host: gss-ntlmssp through python3-gssapi.

Run with Debian's /usr/bin/python3 (python3-gssapi, gss-ntlmssp). Users come from the
file named by NTLM_USER_FILE (lines DOMAIN:user:password); NETBIOS_COMPUTER_NAME and
NETBIOS_DOMAIN_NAME set the names in the CHALLENGE.

One JSON object per line on stdin, one answer per line on stdout, `id` echoed:
  {"op":"new", "cbt": b64?}            -> {"ctx": "<id>"}   cbt = channel-binding application data
  {"op":"step", "ctx", "token": b64}    -> {"token": b64|null, "complete": bool, "user": str|null}
  {"op":"wrap", "ctx", "data": b64}     -> {"token": b64}     16-byte signature + sealed data
  {"op":"unwrap", "ctx", "token": b64}  -> {"data": b64, "encrypted": bool}
  {"op":"delete", "ctx"}                -> {}
  {"op":"mic", "ctx", "data": b64}      -> {"token": b64}     GSS_GetMIC (for SPNEGO's mechListMIC)
  {"op":"verify_mic", "ctx", "data", "mic"} -> {}         GSS_VerifyMIC
  {"op":"reset_crypto", "ctx", "direction": "send"|"recv"} -> {}   RC4 state restart (MS-SPNG, after a mechListMIC)
  {"op":"ping"}                         -> {"mech": "..."}
A failure answers {"error": "<text>", "kind": "<gssapi exception class>"}.

With NTLM_SYNC_FIFOS="<request fifo>:<answer fifo>" the same protocol is also served on
that pair of named pipes, from a thread: a Node caller can then block on an answer
(the test host's reply `wrap` is synchronous). A lock keeps the contexts consistent.
"""
import base64
import json
import os
import sys
import threading

import gssapi
import gssapi.raw

NTLM = gssapi.OID.from_int_seq('1.3.6.1.4.1.311.2.2.10')
# gss-ntlmssp's GSS_NTLMSSP_RESET_CRYPTO_OID (value 1: the receive handle, 0: the send handle).
RESET_CRYPTO = gssapi.OID.from_int_seq('1.3.6.1.4.1.7165.655.1.3')


def b64(data):
    return base64.b64encode(data).decode('ascii') if data is not None else None


class Acceptor:
    def __init__(self):
        self.creds = gssapi.Credentials(usage='accept', mechs=[NTLM])
        self.contexts = {}
        self.next_id = 1

    def op_ping(self, req):
        return {'mech': NTLM.dotted_form}

    def op_new(self, req):
        cbt = None
        if req.get('cbt'):
            cbt = gssapi.raw.ChannelBindings(application_data=base64.b64decode(req['cbt']))
        ctx = gssapi.SecurityContext(creds=self.creds, usage='accept', channel_bindings=cbt)
        cid = str(self.next_id)
        self.next_id += 1
        self.contexts[cid] = ctx
        return {'ctx': cid}

    def ctx(self, req):
        try:
            return self.contexts[req['ctx']]
        except KeyError:
            raise LookupError('no such context: %s' % req.get('ctx'))

    def op_step(self, req):
        ctx = self.ctx(req)
        out = ctx.step(base64.b64decode(req['token']))
        # gss-ntlmssp's display name ends with a NUL.
        user = str(ctx.initiator_name).rstrip('\x00') if ctx.complete else None
        return {'token': b64(out), 'complete': bool(ctx.complete), 'user': user}

    def op_wrap(self, req):
        res = self.ctx(req).wrap(base64.b64decode(req['data']), True)
        if not res.encrypted:
            raise RuntimeError('the context cannot seal (no confidentiality negotiated)')
        return {'token': b64(res.message)}

    def op_unwrap(self, req):
        res = self.ctx(req).unwrap(base64.b64decode(req['token']))
        return {'data': b64(res.message), 'encrypted': bool(res.encrypted)}

    # Added for the CredSSP acceptor's SPNEGO layer (the mechListMIC exchange).
    def op_mic(self, req):
        return {'token': b64(self.ctx(req).get_signature(base64.b64decode(req['data'])))}

    def op_verify_mic(self, req):
        self.ctx(req).verify_signature(base64.b64decode(req['data']), base64.b64decode(req['mic']))
        return {}

    def op_reset_crypto(self, req):
        value = b'\x01\x00\x00\x00' if req.get('direction') == 'recv' else b'\x00\x00\x00\x00'
        gssapi.raw.set_sec_context_option(RESET_CRYPTO, context=self.ctx(req), value=value)
        return {}

    def op_delete(self, req):
        self.contexts.pop(req.get('ctx'), None)
        return {}


def serve(acceptor, lock, lines, write):
    for line in lines:
        line = line.strip()
        if not line:
            continue
        req = {}
        try:
            req = json.loads(line)
            handler = getattr(acceptor, 'op_' + str(req.get('op')), None)
            if handler is None:
                raise ValueError('unknown op %r' % req.get('op'))
            with lock:
                answer = handler(req)
        except Exception as exc:  # every failure is reported, the sidecar keeps serving
            answer = {'error': str(exc) or exc.__class__.__name__, 'kind': exc.__class__.__name__}
        answer['id'] = req.get('id') if isinstance(req, dict) else None
        write(json.dumps(answer) + '\n')


def serve_fifos(acceptor, lock, request_path, answer_path):
    with open(request_path, 'r', encoding='utf-8') as requests, open(answer_path, 'w', encoding='utf-8') as answers:
        def write(text):
            answers.write(text)
            answers.flush()
        serve(acceptor, lock, requests, write)


def main():
    acceptor = Acceptor()
    lock = threading.Lock()
    fifos = os.environ.get('NTLM_SYNC_FIFOS')
    if fifos:
        request_path, answer_path = fifos.split(':', 1)
        threading.Thread(target=serve_fifos, args=(acceptor, lock, request_path, answer_path), daemon=True).start()

    def write(text):
        sys.stdout.write(text)
        sys.stdout.flush()
    serve(acceptor, lock, sys.stdin, write)


if __name__ == '__main__':
    main()
