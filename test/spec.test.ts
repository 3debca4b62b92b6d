/**
 * Job spec parsing and validation: every problem is a JobSpecError that names the file, the
 * field path, and what was found, and all problems in a spec are reported at once.
 *
 *   node --import tsx --test test/spec.test.ts
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { JobSpecError } from '../src/core/errors.js';
import type { JobSpecInput } from '../src/spec/job-spec.js';
import { loadJobFile } from '../src/spec/load-spec.js';
import { mlpSpec, parseSpec, specYaml, tempDir, writeIn } from './helpers/jobs.js';

const FILE = '/jobs/test.yaml';

/** Parses a modified copy of the standard spec and returns the JobSpecError it must raise. */
function specError(change: (spec: JobSpecInput & Record<string, unknown>) => void, file = FILE): JobSpecError {
  const spec = mlpSpec() as JobSpecInput & Record<string, unknown>;
  change(spec);
  try {
    parseSpec(spec, file);
  } catch (err) {
    assert.ok(err instanceof JobSpecError, `expected a JobSpecError, got ${String(err)}`);
    return err;
  }
  assert.fail('the spec was accepted');
}

/** Asserts the error names the file and has one issue matching `issue` (field path + found). */
function assertIssue(err: JobSpecError, issue: RegExp, file = FILE): void {
  assert.equal(err.file, file);
  assert.ok(err.message.startsWith(`${file}: invalid job spec`), err.message);
  assert.ok(
    err.issues.some((i) => issue.test(i)),
    `no issue matches ${issue}; issues:\n  ${err.issues.join('\n  ')}`,
  );
}

describe('job spec: valid specs', () => {
  it('accepts the standard spec and applies defaults', () => {
    const { spec, file, baseDir } = parseSpec(mlpSpec(), FILE);
    assert.equal(file, FILE);
    assert.equal(baseDir, '/jobs');
    assert.equal(spec.input.csv.header, true);
    assert.equal(spec.input.csv.delimiter, ',');
    assert.equal(spec.output.format, 'csv');
    assert.equal(spec.output.gzip, false);
    assert.equal(spec.model.threads, 1);
    assert.equal(spec.model.inputs[0]?.missing, 'reject');
    assert.equal(spec.limits.maxRecordBytes, 1024 * 1024);
  });

  it('accepts a schedule with a valid cron and IANA time zone, and header:false with columns', () => {
    const spec = mlpSpec();
    spec.schedule = { cron: '30 2 * * *', timezone: 'Europe/Berlin' };
    spec.input.csv = { header: false, columns: ['id', 'note', 'f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'] };
    const loaded = parseSpec(spec);
    assert.equal(loaded.spec.schedule?.timezone, 'Europe/Berlin');
    assert.equal(loaded.spec.schedule?.catchup, 'latest');
  });

  it('accepts s3:// URIs with templates and an output prefix beside the input prefix', () => {
    const spec = mlpSpec();
    spec.model.uri = 's3://models-bucket/fraud/{{job}}.onnx';
    spec.input.uri = 's3://data-bucket/in/{{date}}/';
    spec.output.uri = 's3://data-bucket/scored/{{date}}/';
    assert.equal(parseSpec(spec).spec.output.uri, 's3://data-bucket/scored/{{date}}/');
  });
});

describe('job spec: errors name the file, the field path and what was found', () => {
  it('unknown fields, at top level and nested', () => {
    const err = specError((s) => {
      s['colour'] = 'blue';
      (s.model as Record<string, unknown>)['weights'] = 'model.bin';
    });
    assertIssue(err, /^colour: unknown key \(known here: name, description, /);
    assertIssue(err, /^model\.weights: unknown key \(known here: uri, ref, registry, sha256, threads, inputs, outputs, challenger\)/);
  });

  it('a dtype that is not one of the supported ones', () => {
    const err = specError((s) => {
      (s.model.inputs[0] as Record<string, unknown>)['dtype'] = 'float16';
    });
    assertIssue(err, /^model\.inputs\.0\.dtype: .*float32.*found "float16"/);
  });

  it('a cron expression that does not parse', () => {
    const err = specError((s) => {
      s.schedule = { cron: '61 25 * * *' };
    });
    assertIssue(err, /^schedule\.cron: "61 25 \* \* \*" is not a valid cron expression/);
  });

  it('an unknown time zone', () => {
    const err = specError((s) => {
      s.schedule = { cron: '0 2 * * *', timezone: 'Mars/Olympus_Mons' };
    });
    assertIssue(err, /^schedule\.timezone: "Mars\/Olympus_Mons" is not a known IANA time zone/);
  });

  it('an unknown template in a URI', () => {
    const err = specError((s) => {
      s.input.uri = 'in/{{day}}/';
    });
    assertIssue(err, /^input\.uri: unknown template \{\{day\}\}/);
  });

  it('an output prefix equal to the input prefix', () => {
    const err = specError((s) => {
      s.output.uri = 'in/{{date}}/';
    });
    assertIssue(err, /^output\.uri: .*must not be equal to, inside, or around the input prefix.*found output\.uri "in\/\{\{date\}\}\/"/);
  });

  it('an output prefix inside the input prefix (also for s3 and for a glob input)', () => {
    assertIssue(
      specError((s) => {
        s.output.uri = 'in/{{date}}/scored/';
      }),
      /^output\.uri: .*inside.*found output\.uri "in\/\{\{date\}\}\/scored\/"/,
    );
    assertIssue(
      specError((s) => {
        s.input.uri = 's3://data-bucket/in/';
        s.output.uri = 's3://data-bucket/in/{{date}}/out/';
      }),
      /^output\.uri: .*inside/,
    );
    assertIssue(
      specError((s) => {
        s.input.uri = 'data/{{date}}/*.csv';
        s.output.uri = 'data/{{date}}/';
      }),
      /^output\.uri: .*equal to/,
    );
  });

  it('an output prefix around the input prefix', () => {
    assertIssue(
      specError((s) => {
        s.output.uri = 'in/';
      }),
      /^output\.uri: .*around/,
    );
  });

  it('".." segments in s3 keys, reported with the field they are in', () => {
    const err = specError((s) => {
      s.input.uri = 's3://data-bucket/in/../secret/';
      s.output.uri = 's3://data-bucket/out/{{date}}/../../x/';
    });
    assertIssue(err, /^input\.uri: "s3:\/\/data-bucket\/in\/\.\.\/secret\/": object keys cannot contain "\." or "\.\." segments/);
    assertIssue(err, /^output\.uri: "s3:\/\/data-bucket\/out\/.*\/\.\.\/\.\.\/x\/": object keys cannot contain/);
  });

  it('an invalid bucket name, with the field it is in', () => {
    assertIssue(
      specError((s) => {
        s.model.uri = 's3://ab/model.onnx';
      }),
      /^model\.uri: "s3:\/\/ab\/model\.onnx": "ab" is not a valid bucket name/,
    );
  });

  it('header:false without columns', () => {
    const err = specError((s) => {
      s.input.csv = { header: false };
    });
    assertIssue(err, /^input\.csv\.columns: required when input\.csv\.header is false/);
  });

  it('a missing required field and a bad job name', () => {
    const err = specError((s) => {
      delete (s.model as Record<string, unknown>)['outputs'];
      s.name = 'Fraud Nightly';
    });
    assertIssue(err, /^model\.outputs: .*\(missing\)/);
    assertIssue(err, /^name: .*found "Fraud Nightly"/);
  });

  it('missing: nan on a non-float input, and two sources for one output column', () => {
    const err = specError((s) => {
      s.model.inputs.push({ name: 'country', columns: ['country'], dtype: 'string', missing: 'nan' });
      s.input.passthrough = ['score'];
    });
    assertIssue(err, /^model\.inputs\.1\.missing: "nan" only applies to float32\/float64 inputs \(found dtype string\)/);
    assertIssue(err, /^model\.outputs\.0\.columns\.0: output column "score" is already produced by input\.passthrough\.0/);
  });

  it('reports every problem at once', () => {
    const err = specError((s) => {
      s.schedule = { cron: 'nightly', timezone: 'Nowhere/City' };
      s.input.uri = 's3://data-bucket/a/../b/';
      s.output.uri = 's3://data-bucket/{{when}}/';
      s.input.csv = { header: false };
    });
    assertIssue(err, /^schedule\.cron: /);
    assertIssue(err, /^schedule\.timezone: /);
    assertIssue(err, /^input\.uri: .*"\.\."/);
    assertIssue(err, /^output\.uri: unknown template \{\{when\}\}/);
    assertIssue(err, /^input\.csv\.columns: /);
  });

  it('YAML syntax problems (duplicate keys) name the file', () => {
    const text = `${specYaml(mlpSpec())}name: again\n`;
    assert.throws(
      () => parseSpec(text, FILE),
      (err: unknown) => {
        assert.ok(err instanceof JobSpecError);
        assertIssue(err, /^YAML: .*[Mm]ap keys must be unique/);
        return true;
      },
    );
  });
});

describe('job spec: loadJobFile', () => {
  it('names the file on disk in the error, and resolves relative URIs against its folder', async (t) => {
    const dir = await tempDir(t, 'spec');
    const good = await writeIn(dir, 'jobs/good.yaml', specYaml(mlpSpec()));
    const loaded = await loadJobFile(good);
    assert.equal(loaded.file, good);
    assert.equal(loaded.baseDir, path.join(dir, 'jobs'));

    const spec = mlpSpec();
    spec.output.uri = 'in/{{date}}/';
    const bad = await writeIn(dir, 'jobs/bad.yaml', specYaml(spec));
    await assert.rejects(loadJobFile(bad), (err: unknown) => {
      assert.ok(err instanceof JobSpecError);
      assertIssue(err, /^output\.uri: /, bad);
      return true;
    });
  });

  it('a missing file is a JobSpecError naming the file', async (t) => {
    const dir = await tempDir(t, 'spec');
    const missing = path.join(dir, 'nope.yaml');
    await assert.rejects(loadJobFile(missing), (err: unknown) => {
      assert.ok(err instanceof JobSpecError);
      assertIssue(err, /cannot read file: ENOENT/, missing);
      return true;
    });
  });
});
