// Metrics of the S3 storage (STORAGE=s3): requests by operation and outcome, their duration, and
// the bytes sent to S3, from the storage's request log.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { S3Requests } from '../../store/storage/s3-requests.js';

export function registerS3Metrics(registers: Registry[], requests: S3Requests): void {
  const count = new Counter({
    name: 'upload_s3_requests_total',
    help: 'Requests to S3 by operation and outcome (ok, not_found: expected and handled, error)',
    labelNames: ['operation', 'outcome'],
    registers,
  });
  const duration = new Histogram({
    name: 'upload_s3_request_duration_seconds',
    help: 'Duration of requests to S3 by operation',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const bytes = new Counter({
    name: 'upload_s3_bytes_sent_total',
    help: 'Body bytes sent to S3 (parts)',
    registers,
  });
  requests.on((request) => {
    count.inc({ operation: request.operation, outcome: request.outcome });
    duration.observe({ operation: request.operation }, request.seconds);
    if (request.bytesSent > 0) bytes.inc(request.bytesSent);
  });
}
