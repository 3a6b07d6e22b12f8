// The public surface of the core, for Node programs (the CLI, scripts, other tools).
// Nothing here imports `vscode`.
export { WinrmSession, type SessionOptions, type RunOptions, type CommandRun } from './session';
export { runScript, resetPersistentSessions, closePersistentSessions, type ScriptRun, type ScriptRunOptions, type TextChunk } from './run-script';
export { planLaunch, formatPreview, interpretResult, parseArgumentAssignment, parseArgumentAssignments, type LaunchPlan, type LaunchRequest, type Language, type ArgumentStyle, type ProfileName, type ScriptArgument } from './launch';
export { supportedSchemes, createAuthProvider, type CredSspOptions, type AuthScheme, type Credentials, type EncryptionMode } from './auth';
export { parseEndpoint, type TlsOptions, type TraceEvent } from './transport/http';
export { createStreamDecoder, createClixmlConverter } from './text';
export * from './errors';
export type { OutputChunk, StreamName } from './winrs/shell';
