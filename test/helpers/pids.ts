import { readFileSync } from 'node:fs';

/** Whether process `pid` runs: not gone, and not a zombie waiting for a parent (containers may have no reaper at pid 1). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
