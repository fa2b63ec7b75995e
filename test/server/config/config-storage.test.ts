// STORAGE and the S3_* settings: files by default, S3 with a bucket, and one clear message per
// bad value (start-up prints them and exits 2).
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../server/config/config.js';
import { TEST_JWT_SECRET } from '../../helpers/tokens.js';

const BASE = { JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: '/srv/uploads' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('storage configuration', () => {
  it('keeps files by default, whatever S3_* variables are around', () => {
    expect(loadConfig({ ...BASE, S3_BUCKET: 'ignored' }).storage).to.deep.equal({ kind: 'file' });
  });

  it('selects S3 with its settings, the prefix without slashes and the spool under DATA_DIR', () => {
    const config = loadConfig({
      ...BASE,
      STORAGE: 's3',
      S3_BUCKET: 'my-uploads',
      S3_PREFIX: '/uploads/prod/',
      S3_ENDPOINT: 'http://127.0.0.1:7480',
      S3_FORCE_PATH_STYLE: '1',
      S3_ACCESS_KEY_ID: 'key',
      S3_SECRET_ACCESS_KEY: 'secret',
    });
    expect(config.storage).to.deep.include({
      kind: 's3',
      bucket: 'my-uploads',
      prefix: 'uploads/prod',
      endpoint: 'http://127.0.0.1:7480',
      region: 'us-east-1',
      forcePathStyle: true,
      presignedDownloads: false,
      credentials: { accessKeyId: 'key', secretAccessKey: 'secret' },
      spoolDir: '/srv/uploads/spool',
    });
  });

  it('leaves credentials to the SDK when none are given', () => {
    const config = loadConfig({ ...BASE, STORAGE: 's3', S3_BUCKET: 'my-uploads' });
    expect(config.storage.kind === 's3' && config.storage.credentials).to.equal(undefined);
  });

  it('names each bad value', () => {
    expect(problems({ STORAGE: 'ftp' })).to.deep.equal(['STORAGE must be file or s3']);
    expect(problems({ STORAGE: 's3' })).to.deep.equal(['STORAGE=s3 needs S3_BUCKET']);
    expect(problems({ STORAGE: 's3', S3_BUCKET: 'My_Bucket' })[0]).to.match(/^S3_BUCKET must be a bucket name/);
    expect(problems({ STORAGE: 's3', S3_BUCKET: 'b-1', S3_ENDPOINT: 'rgw:7480' })[0]).to.match(/^S3_ENDPOINT must be/);
    expect(problems({ STORAGE: 's3', S3_BUCKET: 'b-1', S3_ACCESS_KEY_ID: 'key' })).to.deep.equal([
      'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither',
    ]);
    expect(problems({ STORAGE: 's3', S3_BUCKET: 'b-1', S3_FORCE_PATH_STYLE: 'maybe' })[0]).to.match(
      /^S3_FORCE_PATH_STYLE="maybe" is not 1 or 0/,
    );
  });
});
