// Extension point of `verify --test-restore`: a check per key of the manifest's `checks` (e.g.
// `postgres`), run against the throwaway volumes the archives were restored into. A module
// registers its check when it is loaded; cli.ts loads only the operation that runs, so a check
// module is imported by verify.ts (as verify-postgres.ts is) and calls registerVerifyCheck at its top level.
// A check registered with `{ auto: true }` also runs when the manifest has no entry for it
// (`expected` is then undefined): it finds by itself which restored archives it applies to (the
// Postgres check looks for PG_VERSION) and answers undefined when none.
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
    /** Full details for `<backup>/verified.json` (the JSON line gets only the check's small summary). */
    record(details: unknown): void;
}

/**
 * Compares what the manifest recorded under its key (`expected`) with the restored data. Throws
 * with a message naming the first difference; resolves to a small summary for the JSON line, or
 * undefined when an auto check found nothing it applies to.
 */
export type VerifyCheck = (expected: unknown, ctx: TestRestoreContext) => Promise<Record<string, unknown> | undefined>;

export interface VerifyCheckOptions {
    /** Run on every test restore, also when the manifest has no entry for this key. */
    readonly auto?: boolean;
}

const registry = new Map<string, { check: VerifyCheck; auto: boolean }>();

/** Registers the check for manifest key `key` (one per key). */
export function registerVerifyCheck(key: string, check: VerifyCheck, opts: VerifyCheckOptions = {}): void {
    if (registry.has(key) && registry.get(key)!.check !== check)
        throw new Error(`a verify check for "${key}" is registered twice`);
    registry.set(key, { check, auto: opts.auto === true });
}

/** The check for `key`, if a loaded module registered one. */
export function verifyCheck(key: string): VerifyCheck | undefined {
    return registry.get(key)?.check;
}

/** Keys of the checks that run on every test restore. */
export function autoVerifyChecks(): string[] {
    return [...registry].filter(([, v]) => v.auto).map(([k]) => k);
}
