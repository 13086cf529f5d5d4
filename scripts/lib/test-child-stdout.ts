// Loaded into the runner and every test file's process (`--import`, which the test runner passes on to the
// processes it starts). A file reports its results to the runner over its stdout, a pipe, whose writes are
// asynchronous on Linux; `--test-force-exit` ends the file's process with `process.exit()` once its tests are
// done, which dropped the writes still queued: the run passed while counting fewer tests than ran (from one run
// to the next, 1,917 to 1,961 of the same suite; upstream: nodejs/node#64833). A blocking stdout has written each
// result before the file goes on, so the exit loses none.
if (process.env.NODE_TEST_CONTEXT === 'child-v8') {
  (process.stdout as unknown as { _handle?: { setBlocking?: (blocking: boolean) => void } })._handle?.setBlocking?.(
    true,
  );
}
