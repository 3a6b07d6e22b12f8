export * from './model';
export * from './registry';
export * from './connect';
export * from './session-pool';
