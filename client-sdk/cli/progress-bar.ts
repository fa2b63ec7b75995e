// The live progress bar of `upload` and `download`: bytes, percent, speed and ETA on stderr, drawn
// only on a terminal so that stdout stays clean for --json and for pipes. It makes way for a note
// (a retry) and comes back with the next progress.
import cliProgress from 'cli-progress';
import type { Progress } from '../progress.js';
import { formatBytes, formatSeconds } from './format.js';

export interface ProgressView {
  update(progress: Progress): void;
  /** Takes the bar off the screen until the next update. */
  pause(): void;
  stop(): void;
}

const silent: ProgressView = { update: () => {}, pause: () => {}, stop: () => {} };

export function progressBar(enabled: boolean, label: string): ProgressView {
  if (!enabled) return silent;
  let bar: cliProgress.SingleBar | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    update(progress) {
      // nothing has reached the server yet (it may not be there at all: retry notes say so)
      if (!bar && progress.bytesSent === 0 && progress.bytesTotal !== 0) return;
      const total = progress.bytesTotal ?? Math.max(progress.bytesSent, 1);
      const payload = {
        sent: formatBytes(progress.bytesSent),
        size: progress.bytesTotal === null ? '?' : formatBytes(progress.bytesTotal),
        speed: `${formatBytes(progress.bytesPerSecond)}/s`,
        left: formatSeconds(progress.eta),
      };
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            format: `${label} {bar} {percentage}% | {sent} / {size} | {speed} | ETA {left}`,
            stream: process.stderr,
            hideCursor: true,
            barsize: 28,
            fps: 8,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, progress.bytesSent, payload);
      } else {
        bar.setTotal(total);
        bar.update(progress.bytesSent, payload);
      }
    },
    pause: stop,
    stop,
  };
}
