// The live progress bar of `upload`: bytes, percent, speed and ETA on stderr, drawn only on a
// terminal so that stdout stays clean for --json and for pipes.
import cliProgress from 'cli-progress';
import type { Progress } from '../progress.js';
import { formatBytes, formatSeconds } from './format.js';

export interface ProgressView {
  update(progress: Progress): void;
  stop(): void;
}

const silent: ProgressView = { update: () => {}, stop: () => {} };

export function progressBar(enabled: boolean, label: string): ProgressView {
  if (!enabled) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {bar} {percentage}% | {sent} / {size} | {speed} | ETA {left}`,
      stream: process.stderr,
      hideCursor: true,
      barsize: 28,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(progress) {
      const total = progress.bytesTotal ?? Math.max(progress.bytesSent, 1);
      const payload = {
        sent: formatBytes(progress.bytesSent),
        size: progress.bytesTotal === null ? '?' : formatBytes(progress.bytesTotal),
        speed: `${formatBytes(progress.bytesPerSecond)}/s`,
        left: formatSeconds(progress.eta),
      };
      if (!started) {
        bar.start(total, progress.bytesSent, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(progress.bytesSent, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
