import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLine, UsageError } from './command.ts';
import { renderOutput } from './format.ts';

test('value() prints the selected fields, one line per item, as gcloud does', () => {
  assert.equal(
    renderOutput({ projectNumber: '123456789012', projectId: 'p' }, 'value(projectNumber)'),
    '123456789012\n',
  );
  assert.equal(
    renderOutput(
      [
        { a: { b: 1 }, c: 'x' },
        { a: { b: 2 }, c: 'y' },
      ],
      'value(a.b, c)',
    ),
    '1\tx\n2\ty\n',
  );
  assert.equal(renderOutput({ list: [{ n: 'first' }] }, 'value(list[0].n)'), 'first\n');
  assert.equal(renderOutput({ a: 1 }, 'json'), '{\n  "a": 1\n}\n');
  assert.equal(renderOutput({ a: 1 }, 'none'), '');
  assert.throws(() => renderOutput({}, 'tabel(x)'), UsageError);
  assert.throws(() => renderOutput({}, 'get(a, b)'), UsageError);
});

test('yaml output quotes what would otherwise read as another type', () => {
  assert.equal(
    renderOutput({ n: '0123', t: 'true', s: 'plain', e: '', list: ['a'], o: {} }, undefined),
    'n: "0123"\nt: "true"\ns: plain\ne: ""\nlist:\n- a\no: {}\n',
  );
});

test('flags parse in every gcloud spelling and unknown ones are refused', () => {
  const specs = {
    member: { type: 'string', description: '' },
    quiet: { type: 'boolean', description: '' },
    attribute: { type: 'string', multiple: true, description: '' },
  } as const;
  const parsed = parseLine(
    ['x', '--member=user:a@b.com', '--quiet', '--attribute', 'k=v', '--attribute=k2=v2', '--', '--raw'],
    specs,
  );
  assert.deepEqual(parsed.positionals, ['x', '--raw']);
  assert.deepEqual(parsed.flags, { member: 'user:a@b.com', quiet: true, attribute: ['k=v', 'k2=v2'] });
  assert.deepEqual(parseLine(['--no-quiet'], specs).flags, { quiet: false });
  assert.throws(() => parseLine(['--colour=red'], specs), /unrecognized arguments: --colour/);
  assert.throws(() => parseLine(['--member'], specs), /expected one argument/);
});

test('table() aligns columns under capitalised headings (or label=), get() prints one field', () => {
  const keys = [
    {
      name: 'projects/p/locations/global/keyRings/kr/cryptoKeys/key1',
      purpose: 'ENCRYPT_DECRYPT',
      primary: { state: 'ENABLED' },
    },
    { name: 'k2', purpose: 'ASYMMETRIC_SIGN', primary: { state: 'DISABLED' } },
  ];
  assert.equal(
    renderOutput(keys, 'table(name.basename():label=NAME, purpose, primary.state:label=PRIMARY_STATE)'),
    [
      'NAME  PURPOSE          PRIMARY_STATE',
      'key1  ENCRYPT_DECRYPT  ENABLED',
      'k2    ASYMMETRIC_SIGN  DISABLED',
      '',
    ].join('\n'),
  );
  assert.equal(renderOutput([{ createTime: 'x', a: 1 }], 'table[no-heading](createTime, a)'), 'x  1\n');
  assert.equal(renderOutput([{ createTime: 't' }], 'table(createTime)'), 'CREATE_TIME\nt\n');
  assert.equal(renderOutput({ projectNumber: '42' }, 'get(projectNumber)'), '42\n');
});
