// Stopping the containers that write to the data, and starting them again: one place for it.
// Every container upshift stops is written to a small ledger first (the state directory), so that
// a step killed before it could start it again is known later: the rerun of that step starts it
// after its work, and the `start` step at the end of every change clears it (issue 12, finding 2).
// An interruption (hooks/core/interrupt.ts) starts again what the running step stopped.
import * as fs from "fs";
import * as path from "path";
import { publishJson } from "./atomic-file";
import { containerState, startContainer, stopContainer } from "./docker";
import { assertNotInterrupted, onInterrupt } from "./interrupt";
import { log } from "./report";
import { stateDir } from "./settings";

export interface LedgerEntry {
    /** The operation that stopped it. */
    readonly by: string;
    readonly at: string;
}

/** A JSON state file in stateDir(); `fallback` when it does not exist yet. */
export function readState<T>(name: string, fallback: T): T {
    const file = path.join(stateDir(), name);
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as T;
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return fallback;
        throw new Error(`cannot read ${file}: ${(e as Error).message}; fix or remove it`);
    }
}

/** Writes a state file whole and durably (hooks/core/atomic-file.ts). */
export function writeState(name: string, value: unknown): void {
    const file = path.join(stateDir(), name);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    publishJson(file, value);
}

const LEDGER = "stopped.json";
const ledgerFile = () => path.join(stateDir(), LEDGER);
/** Containers are named per Docker host: the same name on two hosts is two containers. */
const ledgerKey = (container: string) => `${process.env.DOCKER_HOST || "local"} ${container}`;

function readLedger(): Record<string, LedgerEntry> {
    return readState<Record<string, LedgerEntry>>(LEDGER, {});
}

function writeLedger(entries: Record<string, LedgerEntry>): void {
    writeState(LEDGER, entries);
}

/** The ledger's entry for a container, if upshift stopped it and has not started it since. */
export function stoppedByUpshift(container: string): LedgerEntry | undefined {
    return readLedger()[ledgerKey(container)];
}

export function recordStopped(containers: readonly string[], by: string): void {
    if (!containers.length) return;
    const all = readLedger();
    const at = new Date().toISOString();
    for (const c of containers) all[ledgerKey(c)] = { by, at };
    writeLedger(all);
}

export function clearStopped(containers: readonly string[]): void {
    const all = readLedger();
    const keys = containers.map(ledgerKey).filter((k) => k in all);
    if (!keys.length) return;
    for (const k of keys) delete all[k];
    writeLedger(all);
}

/** States in which a container may still write: stopped too (a restarting one comes back by itself). */
const WRITING = new Set(["running", "restarting", "paused"]);

/**
 * The writers one step stops. `stop()` stops each that may write (running, restarting or paused;
 * missing ones are skipped), recording it first; with `resume`, one already stopped that the
 * ledger says this same operation stopped (a killed earlier run of this step) is taken over, so
 * `restart()` starts it too. Until `restart()` or `keepStopped()`, an interruption starts them again.
 */
export class Writers {
    private readonly stoppedNow: string[] = [];
    private readonly unregister: () => void;

    constructor(
        private readonly operation: string,
        private readonly names: readonly string[],
        private readonly opts: { resume?: boolean } = {},
    ) {
        this.unregister = onInterrupt(async () => {
            const failed = await this.startAgain();
            if (failed.length)
                log(
                    operation,
                    `could not start again: ${failed.join(", ")}; the ledger ${ledgerFile()} keeps them for the next step`,
                );
        });
    }

    /** The containers this step stopped or took over, in order. */
    get stopped(): readonly string[] {
        return this.stoppedNow;
    }

    /**
     * Every writer (of `only`, when given) is recorded first, then all are stopped at once: the product is down for the
     * longest single stop, not their sum (the archive or dump starts only once all have stopped).
     */
    async stop(only?: readonly string[]): Promise<void> {
        const toStop: { c: string; status: string }[] = [];
        // `only`: some of the writers now, the others by a later call (e.g. a database after the apps).
        for (const c of only ? this.names.filter((n) => only.includes(n)) : this.names) {
            assertNotInterrupted(`stopping ${c}`);
            const st = await containerState(c);
            if (!st) continue;
            if (!WRITING.has(st.status)) {
                // Only what an earlier run of this same operation stopped is taken over: a container
                // another step stopped on purpose (a rollback's stop-apps) stays stopped.
                const entry = stoppedByUpshift(c);
                if (this.opts.resume && entry?.by === this.operation) {
                    log(
                        this.operation,
                        `${c} was stopped by an earlier, interrupted run (${entry.by}, ${entry.at}); it is started again after this one`,
                    );
                    this.stoppedNow.push(c);
                }
                continue;
            }
            toStop.push({ c, status: st.status });
        }
        if (!toStop.length) return;
        assertNotInterrupted(`stopping ${toStop.map((x) => x.c).join(", ")}`);
        // Before stopping: if a `docker stop` fails halfway, it is started again.
        recordStopped(
            toStop.map((x) => x.c),
            this.operation,
        );
        this.stoppedNow.push(...toStop.map((x) => x.c));
        log(
            this.operation,
            `stopping ${toStop.map((x) => (x.status === "running" ? x.c : `${x.c} (${x.status})`)).join(", ")}`,
        );
        const results = await Promise.allSettled(toStop.map((x) => stopContainer(x.c)));
        const failed = results.flatMap((r, i) =>
            r.status === "rejected" ? [`${toStop[i].c}: ${(r.reason as Error).message}`] : [],
        );
        if (failed.length) throw new Error(`could not stop ${failed.join("; ")}`);
    }

    /** Starts again everything this step stopped; resolves to the ones that failed, with why. */
    async restart(): Promise<string[]> {
        this.unregister();
        return this.startAgain();
    }

    /**
     * After `e` failed the step: starts them all again and returns `e` to throw, its message naming
     * those that did not start (a writer left down is never silent).
     */
    async restartAfter(e: unknown): Promise<unknown> {
        const failed = await this.restart();
        if (!failed.length) return e;
        const why = `these containers could not be started again: ${failed.join(", ")}; start them by hand`;
        if (e instanceof Error) {
            e.message = `${e.message}; ${why}`;
            return e;
        }
        return new Error(`${String(e)}; ${why}`);
    }

    /** The step's purpose is to leave them stopped (they are replaced next): no restart on success. */
    keepStopped(): void {
        this.unregister();
    }

    private async startAgain(): Promise<string[]> {
        const results = await Promise.all(
            this.stoppedNow.map(async (c) => {
                log(this.operation, `starting ${c} again`);
                const why = await startContainer(c);
                return { c, ok: why === undefined, why };
            }),
        );
        const started = results.filter((r) => r.ok).map((r) => r.c);
        clearStopped(started);
        return results.filter((r) => !r.ok).map((r) => `${r.c} (${r.why})`);
    }
}
