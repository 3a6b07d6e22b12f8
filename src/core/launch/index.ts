export * from './types';
export { planLaunch, formatPreview, interpretResult, safeStdinPayload, STDIN_BOOTSTRAP, CMD_MAX_COMMAND_LINE, LANGUAGES, STYLES, PROFILES } from './plan';
export { parseArgumentAssignment, parseArgumentAssignments } from './arguments';
export { connectorArgumentOrder, javaStringHashCode, JavaHashMap } from './java-hashmap';
export {
  POWERHELL_PROMPT, EXCHANGE_MISSING_MESSAGE, connectorLoopScript, safeLoopScript, frameConnectorScript, frameSafeScript,
  loopExitInput, parseLoopOutput, explainLoopFailure, type LoopOutput,
} from './powerhell';
export { encodePowerShellCommand, decodePowerShellCommand, javaToString, psLiteral, psSingleQuoted } from './quoting';
