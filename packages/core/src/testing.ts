// Test helpers shared by packages and end-to-end tests (`@sealroom/core/testing`); nothing here runs in production.
import { readdirSync, readFileSync } from 'node:fs';

/** Every process on this host whose command line contains `marker` (workloads in their own PID namespace too). */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
