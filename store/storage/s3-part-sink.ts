// A whole chunk sent straight to S3 as its part (a REST chunk, which arrives whole or not at all):
// its bytes are streamed into UploadPart while they arrive, with no spool file; the sync ends the
// stream, waits for S3's answer and records the part's ETag. A sink closed without a sync (a body
// refused half-way) cuts the request, so S3 keeps nothing of it.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { UploadPartCommand } from '@aws-sdk/client-s3';
import type { StorageUpload } from '../../db/schema.js';
import type { ChunkSink } from './chunk-storage.js';
import type { S3SinkDeps } from './s3-sink.js';

export class S3PartSink implements ChunkSink {
  private readonly body = new PassThrough();
  private readonly cut = new AbortController();
  private sent: Promise<string> | undefined;
  private written = 0;

  constructor(
    private readonly deps: S3SinkDeps,
    private readonly row: StorageUpload,
    private readonly partNumber: number,
    private readonly size: number,
  ) {
    // a cut body fails the UploadPart, which is where the failure is seen
    this.body.on('error', () => {});
  }

  async write(bytes: Buffer[], at: number): Promise<void> {
    const expected = (this.partNumber - 1) * this.row.chunkSize + this.written;
    if (at !== expected) throw new Error(`part ${this.partNumber} takes its bytes in order: ${at} is not ${expected}`);
    const sent = this.start();
    for (const block of bytes) {
      this.written += block.length;
      // a failed request never drains: its failure ends the wait
      if (!this.body.write(block)) await Promise.race([once(this.body, 'drain'), sent]);
    }
  }

  async sync(): Promise<void> {
    const sent = this.start();
    this.body.end();
    const etag = await sent;
    await this.deps.rows.recordPart(this.row.sessionId, this.partNumber, etag, this.size);
  }

  async close(): Promise<void> {
    if (this.body.writableFinished) return;
    // the request is aborted too: a body ended early would leave it waiting for the rest
    this.body.destroy(new Error(`part ${this.partNumber} was not sent whole`));
    this.cut.abort();
    await this.sent?.catch(() => {});
  }

  private start(): Promise<string> {
    this.sent ??= (async () => {
      const answer = await this.deps.client.send(
        new UploadPartCommand({
          Bucket: this.deps.bucket,
          Key: this.row.objectKey,
          UploadId: this.row.uploadId,
          PartNumber: this.partNumber,
          ContentLength: this.size,
          Body: this.body,
        }),
        { abortSignal: this.cut.signal },
      );
      if (!answer.ETag) throw new Error(`S3 answered part ${this.partNumber} without an ETag`);
      return answer.ETag;
    })();
    // awaited by the sync or the close; unobserved until then
    this.sent.catch(() => {});
    return this.sent;
  }
}
