import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings every process of the service runs with; called first thing in each entry point
 * (API and its workers, projector, CLI, the bench and its baseline server; not the bench's load
 * helpers). A V8 without the flag prints "unrecognized flag" once and runs on.
 *
 * `--no-concurrent-array-buffer-sweeping`: V8 frees the memory of dead Buffers on a background
 * thread by default. On the 2-core VM this service is measured on, that thread's `free` calls
 * fight the main thread's `malloc` for glibc's arena lock (futex waits, perf shows the time in
 * `__lll_lock_wait_private` and `_int_malloc`), and every Buffer made in C++ pays for it: one
 * AES-GCM seal of a 300-byte field (cipher, update, final, tag: four such Buffers) cost
 * 12–13 µs with it and 3.0–3.2 µs without. Freed during the scavenge instead, the same work
 * costs a little GC pause time and no lock waits. The flag is read at every sweep, so setting
 * it at start (after the first modules loaded) takes effect.
 */
export function tuneRuntime(): void {
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
}
