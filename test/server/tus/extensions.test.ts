// Tus-Extension is derived from what the endpoint implements: the full list as served, and each
// entry gone when the code behind it is.
import { expect } from 'chai';
import { TUS_CAPABILITIES } from '../../../server/tus/dispatch.js';
import { type TusCapabilities, tusExtensions } from '../../../server/tus/extensions.js';

const ALL = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'expiration',
  'checksum',
  'checksum-trailer',
  'concatenation',
  'concatenation-unfinished',
];

describe('Tus-Extension', () => {
  const implemented: TusCapabilities = { ...TUS_CAPABILITIES, expires: true };

  it('lists every extension the endpoint and the store implement, in the order of the spec', () => {
    expect(tusExtensions(implemented)).to.deep.equal(ALL);
  });

  it('drops an extension when what implements it is missing', () => {
    const without = (change: Partial<TusCapabilities>) => {
      const listed = tusExtensions({ ...implemented, ...change });
      return ALL.filter((name) => !listed.includes(name));
    };
    expect(without({ uploadMethods: ['HEAD', 'PATCH'] })).to.deep.equal(['termination']);
    expect(without({ trailers: [] })).to.deep.equal(['checksum-trailer']);
    expect(without({ joinsUnfinishedParts: false })).to.deep.equal(['concatenation-unfinished']);
    expect(without({ bodyTypes: { PATCH: 'application/offset+octet-stream' } })).to.deep.equal([
      'creation-with-upload',
    ]);
    expect(without({ checksumAlgorithms: ['md5'] })).to.deep.equal(['checksum', 'checksum-trailer']);
    expect(without({ expires: false })).to.deep.equal(['expiration']);
    expect(without({ collectionMethods: [] })).to.deep.equal([
      'creation',
      'creation-with-upload',
      'creation-defer-length',
      'concatenation',
      'concatenation-unfinished',
    ]);
  });
});
