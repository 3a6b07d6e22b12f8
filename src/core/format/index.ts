export * from './language';
export * from './arguments';
export * from './output';
export * from './terminal';
export * from './trace';
export * from './persistent';
