export * from './decoder';
export * from './clixml';
