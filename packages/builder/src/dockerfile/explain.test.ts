import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { EngineFailure } from './buildah.ts';
import { explainEngineFailure } from './explain.ts';
import { parseDockerfile } from './parse.ts';

const parsed = parseDockerfile(
  [
    'FROM busybox:1.35 AS build',
    'RUN wget -q -O- http://example.com/ \\',
    '  && echo ok',
    'FROM build',
    'FOO bar',
    'RUN make',
  ].join('\n'),
);
const context = { parsed, replacements: [['/tmp/sealroom-build-x/context', '/src/app'] as const], timeoutMs: 60_000 };
const step = (stage: number, n: number) => ({ stage, stages: 2, step: n, steps: 3, text: '' });
const failure = (f: Partial<EngineFailure>): EngineFailure => ({
  exitCode: 1,
  step: undefined,
  error: '',
  stepOutput: [],
  timedOut: false,
  ...f,
});

it('names the line of a RUN that needed the network and says builds have none', () => {
  const error = explainEngineFailure(
    failure({
      step: step(1, 2),
      error: 'building at STEP "RUN wget -q -O- http://example.com/   && echo ok": exit status 1',
      stepOutput: ["wget: bad address 'example.com'", 'subprocess exited with status 1'],
    }),
    context,
  );
  assert.equal(error.code, 'ERR_BUILDER_RUN_FAILED');
  assert.match(
    error.message,
    /^Dockerfile line 2: RUN wget .*: the step needs the network \(wget: bad address 'example.com'\), and builds have none\./,
  );
});

it('names the line of a failing RUN with its exit status and last output', () => {
  const error = explainEngineFailure(
    failure({
      step: step(2, 3),
      error: 'building at STEP "RUN make": exit status 2',
      stepOutput: ['make: *** [all] Error 1'],
    }),
    context,
  );
  assert.equal(error.code, 'ERR_BUILDER_RUN_FAILED');
  assert.equal(
    error.message,
    'Dockerfile line 6: RUN make: failed with exit status 2 (last output: make: *** [all] Error 1). RUN steps have no network.',
  );
});

it('names the line of an instruction the engine rejects, without its internal dump or private paths', () => {
  const unknown = explainEngineFailure(
    failure({
      step: step(2, 2),
      error:
        'building at STEP "FOO ": Build error: Unknown instruction: "FOO" &imagebuilder.Step{Env:[]string{"PATH=/x"}}',
    }),
    context,
  );
  assert.equal(unknown.code, 'ERR_BUILDER_DOCKERFILE');
  assert.equal(
    unknown.message,
    'Dockerfile line 5: FOO bar: the engine rejected it: Build error: Unknown instruction: "FOO"',
  );
  const copy = explainEngineFailure(
    failure({
      step: step(2, 3),
      error:
        'building at STEP "COPY x /x": checking on sources under "/tmp/sealroom-build-x/context": copier: stat: "/x": no such file or directory',
    }),
    context,
  );
  assert.match(copy.message, /^Dockerfile line 6: .*checking on sources under "\/src\/app"/);
});

it('reports a timeout and an engine that fails before any step', () => {
  assert.match(
    explainEngineFailure(failure({ step: step(1, 2), timedOut: true }), context).message,
    /line 2: .*limit of 60 s/,
  );
  const early = explainEngineFailure(failure({ error: 'mount: permission denied', exitCode: 1 }), context);
  assert.equal(early.code, 'ERR_BUILDER_ENGINE');
});
