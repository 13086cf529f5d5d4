// Public surface of @sealroom/workload.
export {};
