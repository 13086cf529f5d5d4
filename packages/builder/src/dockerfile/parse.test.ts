// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile text, whose ${VAR} is the engine's, not a template.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuilderError } from '../errors.ts';
import { expandVariables, findStep, neededStages, parseDockerfile, rewriteImages, toInstructions } from './parse.ts';

const MULTI = [
  '# syntax=docker/dockerfile:1', // 1
  'ARG TOOLCHAIN=toolchain:12', // 2
  'ARG RUNTIME', // 3
  '', // 4
  'FROM ${TOOLCHAIN} AS Build', // 5
  'WORKDIR /src', // 6
  'COPY hello.c .', // 7
  'RUN gcc -O2 \\', // 8
  '  # a comment inside the continuation', // 9
  '    -o /hello hello.c', // 10
  '', // 11
  'FROM ${RUNTIME:-busybox:1.35}', // 12
  'COPY --from=build /hello /usr/local/bin/hello', // 13
  'COPY --from=tools:1 /bin/tool /bin/tool', // 14
  'LABEL "tee.launch_policy.allow_env_override"="GREETING"', // 15
  'ENTRYPOINT ["/usr/local/bin/hello"]', // 16
].join('\n');

describe('parseDockerfile', () => {
  it('joins continuation lines as the engine does and keeps the line of each keyword', () => {
    const { instructions } = toInstructions(MULTI);
    const run = instructions.find((i) => i.keyword === 'RUN');
    assert.deepEqual(run, { keyword: 'RUN', args: 'gcc -O2     -o /hello hello.c', line: 8, endLine: 10 });
    assert.deepEqual(
      instructions.map((i) => [i.keyword, i.line]),
      [
        ['ARG', 2],
        ['ARG', 3],
        ['FROM', 5],
        ['WORKDIR', 6],
        ['COPY', 7],
        ['RUN', 8],
        ['FROM', 12],
        ['COPY', 13],
        ['COPY', 14],
        ['LABEL', 15],
        ['ENTRYPOINT', 16],
      ],
    );
  });

  it('expands global ARGs in FROM, build args first, and tells stages from images in COPY --from', () => {
    const parsed = parseDockerfile(MULTI, { TOOLCHAIN: 'gcc:13' });
    assert.deepEqual(
      parsed.images.map((u) => [u.kind, u.raw, u.reference, u.instruction.line, u.stage]),
      [
        ['from', '${TOOLCHAIN}', 'gcc:13', 5, 0],
        ['from', '${RUNTIME:-busybox:1.35}', 'busybox:1.35', 12, 1],
        ['copy-from', 'tools:1', 'tools:1', 14, 1],
      ],
    );
    assert.equal(parsed.stages[0]?.name, 'build');
    assert.deepEqual(parsed.stages[1]?.uses, [0]);
    assert.equal(parseDockerfile(MULTI, { RUNTIME: 'debian:12' }).images[1]?.reference, 'debian:12');
  });

  it('numbers steps per stage with FROM first, as the engine prints STEP n/m', () => {
    const parsed = parseDockerfile(MULTI);
    assert.equal(findStep(parsed, 1, 4)?.line, 8);
    assert.equal(findStep(parsed, 2, 1)?.line, 12);
    assert.equal(findStep(parsed, 2, 5)?.keyword, 'ENTRYPOINT');
    assert.equal(findStep(parsed, 3, 1), undefined);
  });

  it('needs only the stages the target builds on', () => {
    const text = 'FROM a AS one\nFROM b AS two\nCOPY --from=0 /x /x\nFROM c AS three\nFROM two AS four';
    const parsed = parseDockerfile(text);
    assert.deepEqual(neededStages(parsed), [0, 1, 3]);
    assert.deepEqual(neededStages(parsed, 'three'), [2]);
    assert.throws(() => neededStages(parsed, 'five'), /names no stage/);
  });

  it('rewrites image references in place, so the engine still reports the author’s line numbers', () => {
    const text = 'FROM \\\n  busybox:1.35 AS base\nRUN true\nCOPY --from=tools:1 /a /a\nFROM base';
    const parsed = parseDockerfile(text);
    const rewritten = rewriteImages(parsed, (use) => `oci:/b:${use.reference.replace(':', '-')}`).split('\n');
    assert.deepEqual(rewritten, [
      'FROM oci:/b:busybox-1.35 AS base',
      '',
      'RUN true',
      'COPY --from=oci:/b:tools-1 /a /a',
      'FROM base',
    ]);
  });

  it('names the line of what it cannot read', () => {
    const cases: [string, RegExp][] = [
      ['RUN true\nFROM a', /line 1: RUN comes before the first FROM/],
      ['# just a comment\n', /no FROM instruction/],
      ['FROM a b c d', /line 1: FROM takes an image/],
      ['ARG X\nFROM ${X}', /line 2: FROM \$\{X\} expands to an empty image name/],
      ['# escape=x\nFROM a', /line 1: invalid escape directive/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseDockerfile(text),
        (e: unknown) => e instanceof BuilderError && e.code === 'ERR_BUILDER_DOCKERFILE' && message.test(e.message),
        text,
      );
    }
  });

  it('honours the escape directive for continuations', () => {
    const { instructions } = toInstructions('# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo ok');
    assert.deepEqual(instructions[1], { keyword: 'RUN', args: 'dir c:\\   && echo ok', line: 3, endLine: 4 });
  });
});

describe('expandVariables', () => {
  it('follows the engine’s rules for unset, empty and default values', () => {
    const vars = { SET: 'v', EMPTY: '' };
    const table: [string, string][] = [
      ['$SET', 'v'],
      ['${SET}', 'v'],
      ['${UNSET}', ''],
      ['${UNSET:-d}', 'd'],
      ['${EMPTY:-d}', 'd'],
      ['${EMPTY-d}', ''],
      ['${SET:+alt}', 'alt'],
      ['${UNSET:+alt}', ''],
      ['a/${SET}:1', 'a/v:1'],
    ];
    for (const [text, want] of table) assert.equal(expandVariables(text, vars, 1), want, text);
  });
});
