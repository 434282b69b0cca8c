// Interruptions of a hook: SIGINT, SIGTERM, SIGHUP, and the death of the process that started it.
// An interrupted operation undoes what would leave the product down (restarts the containers it
// stopped, removes its helper containers) and exits 128 + the signal's number (issue 12, finding 2).
//
// Why the parent matters: on the first Ctrl-C the Pulumi engine cancels the step, and the command
// provider kills only the step's `sh` (SIGKILL); this process is left running with nobody to read
// its output (docs/pulumi.md, "Ctrl-C"). It notices the new parent within a second and acts as if
// it had been sent SIGHUP. A second Ctrl-C sends SIGINT to the plugin's process group and SIGKILL
// 5 s later, so the clean-up is kept short: starting containers again, in parallel.
import { takeParentPid } from "./settings";

/** A clean-up run on interruption; it must finish in a few seconds. */
export type Cleanup = (why: string) => Promise<void>;

const cleanups = new Set<Cleanup>();
let interruptedBy: string | undefined;
let installed = false;

/** The signal or event that interrupted this process, if one did. */
export const interruption = (): string | undefined => interruptedBy;

/** Thrown by work that must not start once the process was interrupted (e.g. stopping one more container). */
export class Interrupted extends Error {}

/** Throws Interrupted when an interruption is under way. */
export function assertNotInterrupted(what: string): void {
    if (interruptedBy) throw new Interrupted(`interrupted (${interruptedBy}) before ${what}`);
}

/** Registers a clean-up until the returned function is called. */
export function onInterrupt(fn: Cleanup): () => void {
    cleanups.add(fn);
    return () => {
        cleanups.delete(fn);
    };
}

const EXIT_CODES: Readonly<Record<string, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** How long the clean-ups may take before the process exits anyway (a second Ctrl-C allows 5 s). */
export const CLEANUP_BUDGET_MS = 4000;

/**
 * Installs the handlers (once per process): runs every registered clean-up, then exits. Output
 * streams whose reader is gone (the parent died) must not crash the clean-up with EPIPE.
 */
export function installInterruptHandlers(operation: string, opts: { parentPollMs?: number } = {}): void {
    if (installed) return;
    installed = true;
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
    const handle = (why: string, code: number) => {
        if (interruptedBy) return; // a second signal while cleaning up changes nothing
        interruptedBy = why;
        safeLog(operation, `interrupted (${why}): undoing what would leave the product down`);
        const all = [...cleanups].map((fn) =>
            fn(why).catch((e: Error) => safeLog(operation, `clean-up after ${why} failed: ${e.message}`)),
        );
        const budget = new Promise<void>((r) => setTimeout(r, CLEANUP_BUDGET_MS).unref());
        void Promise.race([Promise.all(all), budget]).then(() => process.exit(code));
    };
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => handle(sig, EXIT_CODES[sig]));
    // The step's shell passes its own pid (components/hookSteps.ts `hookLine`). A kill that lands
    // between the exec and this line would leave this process an orphan that never saw its parent:
    // it would run the whole operation on its own (the fault matrix's pg-migrate row found one
    // stopping the product and migrating while the rerun started). A shell that exec'd us is us.
    const given = takeParentPid(); // out of the environment: never inherited by anything this process starts
    const parent = given === undefined || given === process.pid ? process.ppid : given;
    if (process.ppid !== parent)
        handle(`parent process ${parent} gone before the operation started`, EXIT_CODES.SIGHUP);
    const timer = setInterval(() => {
        if (process.ppid !== parent) handle(`parent process ${parent} gone`, EXIT_CODES.SIGHUP);
    }, opts.parentPollMs ?? 500);
    timer.unref();
}

function safeLog(operation: string, message: string): void {
    try {
        process.stderr.write(`upshift ${operation}: ${message}\n`);
    } catch {
        // stderr is gone with the parent: nothing to tell, the clean-up still runs
    }
}
