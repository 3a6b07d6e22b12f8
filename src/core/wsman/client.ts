// One WS-Management request/response: build, send, parse, check RelatesTo,
// turn faults and unexpected statuses into typed errors.
import { HttpError, ProtocolError, TimeoutError, WinrmError } from '../errors';
import type { HttpTransport } from '../transport/http';
import { buildEnvelope, newMessageId, readEnvelope, readFault, type BodyWriter, type ParsedEnvelope, type RequestHeader } from './messages';
import { parseXml } from './xml';

export interface CallOptions {
  signal?: AbortSignal;
  /** Absolute time (Date.now() ms) after which the call fails with TimeoutError. */
  deadline?: number;
  /** WS-Man OperationTimeout for this call, seconds. */
  operationTimeout?: number;
}

export interface WsmanClientOptions {
  maxEnvelopeSize?: number;
  /** Default OperationTimeout, seconds. */
  operationTimeout?: number;
  locale?: string;
}

/** Extra time the HTTP request gets beyond the OperationTimeout, so the host's own TimedOut fault arrives first. */
const HTTP_GRACE_MS = 15_000;

export class WsmanClient {
  readonly transport: HttpTransport;
  readonly maxEnvelopeSize: number;
  readonly operationTimeout: number;
  readonly locale: string;
  readonly sessionId = newMessageId();

  constructor(transport: HttpTransport, options: WsmanClientOptions = {}) {
    this.transport = transport;
    this.maxEnvelopeSize = options.maxEnvelopeSize ?? 153_600;
    this.operationTimeout = options.operationTimeout ?? 20;
    this.locale = options.locale ?? 'en-US';
  }

  async call(
    header: Pick<RequestHeader, 'action' | 'resourceUri' | 'selectors' | 'options'>,
    writeBody: BodyWriter | undefined,
    options: CallOptions = {},
  ): Promise<ParsedEnvelope> {
    const operationTimeout = options.operationTimeout ?? this.operationTimeout;
    let timeoutMs = operationTimeout * 1000 + HTTP_GRACE_MS;
    if (options.deadline !== undefined) {
      const left = options.deadline - Date.now();
      if (left <= 0) throw new TimeoutError('The overall deadline passed before the request could be sent.', undefined, { notSent: true });
      timeoutMs = Math.min(timeoutMs, left);
    }
    const message = buildEnvelope({
      ...header,
      to: this.transport.url.href,
      maxEnvelopeSize: this.maxEnvelopeSize,
      operationTimeout,
      locale: this.locale,
      sessionId: this.sessionId,
    }, writeBody);
    const reply = await this.transport.postBytes(message.xml, { signal: options.signal, timeoutMs });
    return interpretReply(reply, message.messageId, this.transport.url.host);
  }
}

const XML_START = /^\s*(<\?xml[^>]*\?>\s*)?</;

/** Status + SOAP text (or its UTF-8 bytes) to a checked envelope; throws the fault or error it carries. */
export function interpretReply(reply: { status: number; body: string | Buffer }, messageId: string, host: string): ParsedEnvelope {
  // Only the start is tested, and only error paths need the whole body as text.
  const head = typeof reply.body === 'string' ? reply.body : reply.body.toString('utf8', 0, 1024);
  const bodyText = () => typeof reply.body === 'string' ? reply.body : reply.body.toString('utf8');
  const looksLikeXml = XML_START.test(head) || (typeof reply.body !== 'string' && reply.body.length > 1024 && XML_START.test(bodyText()));
  if (!looksLikeXml) {
    if (reply.status !== 200) throw httpError(reply.status, host, bodyText());
    throw new ProtocolError(bodyText().trim() === '' ? `${host} answered with an empty body.` : `${host} answered with something that is not XML.`);
  }
  let env: ParsedEnvelope;
  try {
    env = readEnvelope(parseXml(reply.body));
  } catch (err) {
    if (reply.status !== 200 && err instanceof WinrmError) throw httpError(reply.status, host, bodyText());
    throw err;
  }
  const fault = readFault(env);
  if (fault) throw fault;
  if (reply.status !== 200) throw httpError(reply.status, host, bodyText());
  if (env.relatesTo !== messageId) {
    throw new ProtocolError(`The reply does not answer our request (RelatesTo ${env.relatesTo ?? 'missing'}, expected ${messageId}).`,
      'A proxy or the host mixed up replies; run again. If it persists, capture a trace log.');
  }
  return env;
}

function httpError(status: number, host: string, body: string): HttpError {
  const snippet = body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 160);
  const hint = status === 404 ? 'The path is not a WinRM listener: the URL should end in /wsman.'
    : status === 400 ? 'The host could not read the request; with NTLM or CredSSP over HTTP, check the encryption setting.'
    : status === 413 ? 'The request was larger than the host accepts (MaxEnvelopeSizekb).'
    : status >= 500 ? 'The WinRM service failed; check the host\'s event log (Microsoft-Windows-WinRM/Operational).'
    : 'Check that the address points at a WinRM listener.';
  return new HttpError(status, `${host} answered HTTP ${status}${snippet ? `: ${snippet}` : ''}.`, hint);
}
