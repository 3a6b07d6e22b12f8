#!/usr/bin/python3
"""NTLM acceptor sidecar for the test WinRM host: gss-ntlmssp through python3-gssapi.

Run with Debian's /usr/bin/python3 (python3-gssapi, gss-ntlmssp). Users come from the
file named by NTLM_USER_FILE (lines DOMAIN:user:password); NETBIOS_COMPUTER_NAME and
NETBIOS_DOMAIN_NAME set the names in the CHALLENGE.

Requests and answers are frames, on both channels below, in both directions:

    <header: one line of JSON>\n<blob><blob>...

Byte strings (tokens, payloads) do not go in the JSON: the header's "bin" object names
them with their lengths, {"data": 155000}, and their raw bytes follow the newline in that
order (no base64: a sealed WinRM reply is 100+ KB, and encoding it four times per message
was most of the sealed path's cost). Everything else is plain JSON. `id` is echoed.
  {"op":"new", "bin":{"cbt"}?}             -> {"ctx": "<id>"}   cbt = channel-binding application data
  {"op":"step", "ctx", "bin":{"token"}}     -> {"complete": bool, "user": str|null, "bin":{"token"}?}
  {"op":"wrap", "ctx", "bin":{"data"}}      -> {"bin":{"token"}}  16-byte signature + sealed data
  {"op":"unwrap", "ctx", "bin":{"token"}}   -> {"encrypted": bool, "bin":{"data"}}
  {"op":"delete", "ctx"}                    -> {}
  {"op":"mic", "ctx", "bin":{"data"}}       -> {"bin":{"token"}}  GSS_GetMIC (for SPNEGO's mechListMIC)
  {"op":"verify_mic", "ctx", "bin":{"data", "mic"}} -> {}        GSS_VerifyMIC
  {"op":"reset_crypto", "ctx", "direction": "send"|"recv"} -> {}   RC4 state restart (MS-SPNG, after a mechListMIC)
  {"op":"ping"}                             -> {"mech": "..."}
For example  {"id":7,"op":"wrap","ctx":"1","bin":{"data":3}}\nabc  ->  {"id":7,"bin":{"token":19}}\n<19 bytes>.
A failure answers {"error": "<text>", "kind": "<gssapi exception class>"}.

With NTLM_SYNC_FIFOS="<request fifo>:<answer fifo>" the same protocol is also served on
that pair of named pipes, from a thread: a Node caller can then block on an answer
(the test host's reply `wrap` is synchronous). A lock keeps the contexts consistent.
The FIFOs are enlarged to 1 MiB (see enlarge_pipe).
"""
import fcntl
import json
import os
import sys
import threading

import gssapi
import gssapi.raw

NTLM = gssapi.OID.from_int_seq('1.3.6.1.4.1.311.2.2.10')
# gss-ntlmssp's GSS_NTLMSSP_RESET_CRYPTO_OID (value 1: the receive handle, 0: the send handle).
RESET_CRYPTO = gssapi.OID.from_int_seq('1.3.6.1.4.1.7165.655.1.3')
PIPE_SIZE = 1 << 20


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
            cbt = gssapi.raw.ChannelBindings(application_data=req['cbt'])
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
        out = ctx.step(req['token'])
        # gss-ntlmssp's display name ends with a NUL.
        user = str(ctx.initiator_name).rstrip('\x00') if ctx.complete else None
        return {'token': out, 'complete': bool(ctx.complete), 'user': user}

    def op_wrap(self, req):
        res = self.ctx(req).wrap(req['data'], True)
        if not res.encrypted:
            raise RuntimeError('the context cannot seal (no confidentiality negotiated)')
        return {'token': res.message}

    def op_unwrap(self, req):
        res = self.ctx(req).unwrap(req['token'])
        return {'data': res.message, 'encrypted': bool(res.encrypted)}

    # Added for the CredSSP acceptor's SPNEGO layer (the mechListMIC exchange).
    def op_mic(self, req):
        return {'token': self.ctx(req).get_signature(req['data'])}

    def op_verify_mic(self, req):
        self.ctx(req).verify_signature(req['data'], req['mic'])
        return {}

    def op_reset_crypto(self, req):
        value = b'\x01\x00\x00\x00' if req.get('direction') == 'recv' else b'\x00\x00\x00\x00'
        gssapi.raw.set_sec_context_option(RESET_CRYPTO, context=self.ctx(req), value=value)
        return {}

    def op_delete(self, req):
        self.contexts.pop(req.get('ctx'), None)
        return {}


def read_frame(rfile):
    """The next request (its blobs as bytes values), or None at the end of the input."""
    line = rfile.readline()
    if not line:
        return None
    if not line.endswith(b'\n'):
        raise EOFError('the input ends inside a header')
    req = json.loads(line)
    if not isinstance(req, dict):
        raise ValueError('a frame header must be a JSON object')
    for name, size in (req.pop('bin', None) or {}).items():
        data = rfile.read(size) if size > 0 else b''
        if len(data) != size:
            raise EOFError('the input ends inside a blob')
        req[name] = data
    return req


def write_frame(fd, answer):
    """Writes `answer` as a frame: its bytes values become the blobs."""
    blobs = [(k, v) for k, v in answer.items() if isinstance(v, bytes)]
    if blobs:
        answer = {k: v for k, v in answer.items() if not isinstance(v, bytes)}
        answer['bin'] = {k: len(v) for k, v in blobs}
    pieces = [json.dumps(answer, separators=(',', ':')).encode() + b'\n'] + [v for _, v in blobs]
    # writev writes the header and the blobs in one system call; loop over short writes.
    while pieces:
        n = os.writev(fd, pieces)
        while pieces and n >= len(pieces[0]):
            n -= len(pieces[0])
            pieces.pop(0)
        if n:
            pieces[0] = memoryview(pieces[0])[n:]


def serve(acceptor, lock, rfile, wfd):
    while True:
        try:
            # A frame that cannot be read ends the channel: there is no line to resync on.
            req = read_frame(rfile)
            if req is None:
                return
        except EOFError:
            return
        except (ValueError, TypeError, AttributeError) as exc:
            write_frame(wfd, {'error': 'bad frame: %s' % exc, 'kind': exc.__class__.__name__, 'id': None})
            return
        try:
            handler = getattr(acceptor, 'op_' + str(req.get('op')), None)
            if handler is None:
                raise ValueError('unknown op %r' % req.get('op'))
            with lock:
                answer = handler(req)
        except Exception as exc:  # every failure is reported, the sidecar keeps serving
            answer = {'error': str(exc) or exc.__class__.__name__, 'kind': exc.__class__.__name__}
        answer['id'] = req.get('id')
        write_frame(wfd, answer)


def enlarge_pipe(fd):
    # A sealed reply (100-200 KB) then crosses a FIFO in one write, instead of the writer
    # blocking at 64 KiB until the other side is scheduled (0.3 -> 0.07 ms per reply).
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass  # over /proc/sys/fs/pipe-max-size: 64 KiB pipes work too, a little slower


def serve_fifos(acceptor, lock, request_path, answer_path):
    # Enlarged as soon as each end is open: Node's opens return only after these.
    with open(request_path, 'rb') as requests:
        enlarge_pipe(requests.fileno())
        with open(answer_path, 'wb', buffering=0) as answers:
            enlarge_pipe(answers.fileno())
            serve(acceptor, lock, requests, answers.fileno())


def main():
    acceptor = Acceptor()
    lock = threading.Lock()
    fifos = os.environ.get('NTLM_SYNC_FIFOS')
    if fifos:
        request_path, answer_path = fifos.split(':', 1)
        threading.Thread(target=serve_fifos, args=(acceptor, lock, request_path, answer_path), daemon=True).start()
    serve(acceptor, lock, open(0, 'rb', closefd=False), 1)


if __name__ == '__main__':
    main()
