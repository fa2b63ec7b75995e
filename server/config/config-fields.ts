// The kinds of value the configuration is written in (sizes, durations, counts, on/off flags), as
// zod fields that say what was wrong with a bad value.
import { z } from 'zod';
import { compileTrustList } from '../http/public-url.js';
import { parseDuration, parseSize } from './units.js';

export const size = (name: string) =>
  z.string().transform((text, ctx) => {
    const bytes = parseSize(text);
    if (bytes === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${name}=${JSON.stringify(text)} is not a size (e.g. 10MiB, 512KiB, 1048576)`,
      });
      return z.NEVER;
    }
    return bytes;
  });

export const duration = (name: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({
        code: 'custom',
        message: `${name}=${JSON.stringify(text)} is not a positive duration (e.g. 24h, 30m, 90s)`,
      });
      return z.NEVER;
    }
    return ms;
  });

export const count = (name: string, fallback: number) =>
  z.coerce
    .number({ message: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(0, `${name} must be 0 or more`)
    .default(fallback);

export const flag = (name: string, fallback: boolean) =>
  z
    .string()
    .transform((text, ctx) => {
      const value = { 1: true, true: true, yes: true, on: true, 0: false, false: false, no: false, off: false }[
        text.trim().toLowerCase()
      ];
      if (typeof value === 'boolean') return value;
      ctx.addIssue({ code: 'custom', message: `${name}=${JSON.stringify(text)} is not 1 or 0 (true or false)` });
      return z.NEVER;
    })
    .default(fallback);

/** An http(s) origin with an optional path prefix, no query or fragment; trailing slashes dropped. */
export const baseUrl = (name: string) =>
  z
    .string()
    .refine((v) => /^https?:\/\/[^\s?#]+$/.test(v) && URL.canParse(v), {
      message: `${name} must be an http:// or https:// URL without query or fragment (e.g. https://uploads.example.com)`,
    })
    .transform((v) => v.replace(/\/+$/, ''));

/** Off, on for any peer, or a list of addresses and subnets (proxy-addr's syntax: loopback, 10.0.0.0/8). */
export const trustList = (name: string) =>
  z.string().transform((text, ctx): boolean | string[] => {
    const word = text.trim().toLowerCase();
    if (['0', 'false', 'no', 'off'].includes(word)) return false;
    if (['1', 'true', 'yes', 'on'].includes(word)) return true;
    const list = text
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    try {
      compileTrustList(list);
      return list;
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `${name}=${JSON.stringify(text.slice(0, 80))} is not true, false or a list of addresses and subnets (loopback, 10.0.0.0/8): ${(error as Error).message}`,
      });
      return z.NEVER;
    }
  });
