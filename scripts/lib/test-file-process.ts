// Loaded into the runner and every test file's process (`--import`, which the test runner passes on to the
// processes it starts); it acts only in a test file's process.
//
// A file reports its results to the runner over its stdout, a pipe, whose writes are asynchronous on Linux: a
// process that exits with writes still queued drops them, and the run passed while counting fewer tests than ran
// (from one run to the next, 1,917 to 1,961 of the same suite; upstream: nodejs/node#64833). A blocking stdout has
// written each result before the file goes on.
//
// A file whose tests are done must end even if something it started keeps its event loop alive (a handle left
// open after a timeout). The runner's `--test-force-exit` did that, but it also makes the runner itself call
// `process.exit()` once its last file is done, which cut the runner's own report short on a busy machine (its
// output ended after a result line, with no summary). So the runner runs without it, and a file's process is
// ended here instead: once its tests are done (when the first top-level `after` hook runs, which is this one), it
// has LINGER_MS to end by itself, its own `after` hooks included (`SEALROOM_TEST_LINGER_MS`); then it is made to,
// with the exit code the test harness set, and the runner's report names it.
/** How long a file's process may go on after its tests are done before it is made to end (ms). */
const LINGER_MS = Number(process.env.SEALROOM_TEST_LINGER_MS ?? 10_000);

if (process.env.NODE_TEST_CONTEXT === 'child-v8') {
  (process.stdout as unknown as { _handle?: { setBlocking?: (blocking: boolean) => void } })._handle?.setBlocking?.(
    true,
  );
  const { after } = await import('node:test');
  after(() => {
    setTimeout(() => {
      // What keeps it alive, by kind (TCPServerWrap, Timeout, ProcessWrap, …), to find what the file leaves open.
      const open = process.getActiveResourcesInfo().filter((kind) => kind !== 'Timeout' && kind !== 'TTYWrap');
      process.stderr.write(
        `${process.argv[1] ?? 'a test file'}: still running ${LINGER_MS / 1000} s after its tests were done (open: ${open.join(', ') || 'timers'}); ending it\n`,
      );
      process.exit();
    }, LINGER_MS).unref();
  });
}
