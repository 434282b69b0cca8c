// Extension point of `verify --test-restore`: a check per key of the manifest's `checks` (e.g.
// `postgres`), run against the throwaway volumes the archives were restored into. A module
// registers its check when it is loaded; cli.ts loads every module of OPERATION_MODULES, so a
// module listed there (or imported by one) may call registerVerifyCheck at its top level.
import { Manifest } from "./manifest";

export interface TestRestoreContext {
    /** The backup directory (DIR/P/ID). */
    readonly backupDir: string;
    readonly manifest: Manifest;
    /** Archive name -> throwaway volume holding its restored contents (removed after the checks). */
    readonly volumes: ReadonlyMap<string, string>;
    /** Image for short-lived helper containers. */
    readonly helperImage: string;
    /** `--pg-image`: the image whose Postgres must start on a restored data volume. */
    readonly pgImage?: string;
    /** Logs a line on stderr. */
    log(message: string): void;
}

/**
 * Compares what the manifest recorded under its key (`expected`) with the restored data. Throws
 * with a message naming the first difference; resolves to a small summary for the JSON line.
 */
export type VerifyCheck = (expected: unknown, ctx: TestRestoreContext) => Promise<Record<string, unknown>>;

const registry = new Map<string, VerifyCheck>();

/** Registers the check for manifest key `key` (one per key). */
export function registerVerifyCheck(key: string, check: VerifyCheck): void {
    if (registry.has(key) && registry.get(key) !== check) throw new Error(`a verify check for "${key}" is registered twice`);
    registry.set(key, check);
}

/** The check for `key`, if a loaded module registered one. */
export function verifyCheck(key: string): VerifyCheck | undefined {
    return registry.get(key);
}
