// The page's words for a refused upload: what the status means for the person, then the server's
// reason (a tus plain-text body or a REST JSON one); nothing for an answer that is not a refusal.
import { expect } from 'chai';
import { refusalMessage } from '../../web/src/refusals.js';

describe('upload page: refusal messages', () => {
  it('says what 401, 403, 413 and 429 mean, with the server reason and the wait', () => {
    expect(refusalMessage(401, 'authentication required: the token has expired', null)).to.equal(
      'The server did not accept the token: it is missing, malformed or expired. Paste a valid token, then retry. ' +
        'Server: authentication required: the token has expired',
    );
    expect(refusalMessage(403, '{"error":"forbidden","message":"upload x belongs to another user"}', null)).to.equal(
      'This upload belongs to another user: the token is not for the person who started it. ' +
        'Server: upload x belongs to another user',
    );
    expect(refusalMessage(413, 'upload of 2 MiB exceeds MAX_UPLOAD_SIZE (1 MiB)', null)).to.match(
      /^The file is larger than the server accepts \(for this asset type\)\. Server: upload of 2 MiB/,
    );
    expect(refusalMessage(429, 'too many uploads', '60')).to.match(/^Too many uploads: .* Try again in 60 s\.$/);
    expect(refusalMessage(400, '', null)).to.equal('The server refused the upload (HTTP 400).');
  });

  it('has nothing to say for a success, a server error or no answer', () => {
    for (const status of [0, 204, 500, 503])
      expect(refusalMessage(status, 'x', null), String(status)).to.equal(undefined);
  });
});
