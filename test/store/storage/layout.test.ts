// safeFilename and safeSegment: every name that comes from a client becomes one safe path segment.
import { expect } from 'chai';
import { safeFilename, safeSegment } from '../../../store/storage/layout.js';

describe('store layout names', () => {
  it('keeps an ordinary name, UTF-8 included', () => {
    expect(safeFilename('Grüße 2026.txt')).to.equal('Grüße 2026.txt');
  });

  it('drops directories, leading dots and control characters (C0, DEL and C1)', () => {
    expect(safeFilename('../../etc/passwd')).to.equal('passwd');
    expect(safeFilename('..\\..\\boot.ini')).to.equal('boot.ini');
    expect(safeFilename('.hidden')).to.equal('hidden');
    expect(safeFilename('a\u0000b\nc\u007fd\u0085e\u009ff.bin')).to.equal('abcdef.bin');
  });

  it('falls back to "file" when nothing is left, and caps the name at 200 bytes of UTF-8', () => {
    expect(safeFilename('')).to.equal('file');
    expect(safeFilename('../..')).to.equal('file');
    expect(safeFilename(null)).to.equal('file');
    const long = safeFilename(`${'ü'.repeat(150)}.txt`);
    expect(Buffer.byteLength(long)).to.be.at.most(200);
    expect(long.startsWith('ü')).to.equal(true);
  });

  it('reduces an owner id to [A-Za-z0-9._-] with no leading dot', () => {
    expect(safeSegment('alice')).to.equal('alice');
    expect(safeSegment('../root')).to.equal('__root');
    expect(safeSegment('a/b c')).to.equal('a_b_c');
    expect(safeSegment('')).to.equal('_');
  });
});
