/// <reference lib="dom" />
/**
 * Helpers of the browser tests (Debian's `chromium` driven by playwright-core): the
 * executable, a collector of page errors, and a PNG size check for screenshots.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium (scripts/setup-test-deps.sh installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/** Watches a page for console errors, uncaught exceptions, failed requests and HTTP errors. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    // The event stream is aborted when the page navigates or closes: not a failure.
    if (!r.url().includes('/events')) errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return errors;
}

/** Width and height from a PNG's IHDR chunk (asserts the PNG signature). */
export function pngSize(file: string): { width: number; height: number } {
  const b = readFileSync(file);
  expect(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}
