export * from './model';
export * from './registry';
export * from './connect';
export * from './session-pool';
export * from './change-poller';
