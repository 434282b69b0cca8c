// The backup manifest (docs/hooks-cli.md, "Backups on disk"): what a backup holds and the sha256 of
// every archive, read by restore and verify before they touch anything.
import * as fs from "fs";
import * as path from "path";
import { UsageError } from "../core/command";

export const MANIFEST_FORMAT = "upshift-backup/1";
export const MANIFEST_FILE = "manifest.json";

export type SourceType = "volume" | "dir";

export interface ArchiveEntry {
    /** Name used on restore's command line (`--volume NAME=TARGET`). */
    readonly name: string;
    readonly source: { readonly type: SourceType; readonly name: string };
    /** File name of the archive inside the backup directory (never a path). */
    readonly file: string;
    /** Size of the archive file. */
    readonly bytes: number;
    /** Bytes of the regular files in the source. */
    readonly sourceBytes: number;
    /** Number of regular files in the source. */
    readonly files: number;
    /** Hex sha256 of the archive file. */
    readonly sha256: string;
    /** "zstd" (a .tar.zst) or "none" (a plain .tar); absent in manifests written before it: zstd. */
    readonly compression?: "zstd" | "none";
}

export interface Manifest {
    readonly format: typeof MANIFEST_FORMAT;
    readonly id: string;
    readonly product: string;
    readonly version: string;
    readonly label?: string;
    readonly createdAt: string;
    readonly archives: ArchiveEntry[];
    /** What `verify --test-restore` compares, per kind (e.g. `postgres`); see hooks/volumes/verify-checks.ts. */
    readonly checks?: Record<string, unknown>;
}

/** Reads and validates `<dir>/manifest.json`; the message says what is wrong with which backup. */
export function readManifest(dir: string): Manifest {
    const file = path.join(dir, MANIFEST_FILE);
    let raw: string;
    try {
        raw = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new Error(
            `no backup at ${dir}: cannot read ${MANIFEST_FILE} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        );
    }
    let m: Manifest;
    try {
        m = JSON.parse(raw) as Manifest;
    } catch (e) {
        throw new Error(`${file} is not valid JSON (${(e as Error).message}); the backup is damaged`);
    }
    const bad = (what: string) => new Error(`${file}: ${what}; the backup is damaged or not an upshift backup`);
    if (m.format !== MANIFEST_FORMAT) throw bad(`format is ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}"`);
    if (!Array.isArray(m.archives)) throw bad("archives is missing");
    for (const a of m.archives) {
        // The file name comes from disk: never let it point outside the backup directory.
        if (typeof a.file !== "string" || a.file !== path.basename(a.file) || a.file.startsWith("."))
            throw bad(`archive file ${JSON.stringify(a.file)} is not a plain file name`);
        if (typeof a.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(a.sha256))
            throw bad(`archive ${a.name} has no valid sha256`);
        if (typeof a.bytes !== "number") throw bad(`archive ${a.name} has no byte count`);
        if (a.compression !== undefined && a.compression !== "zstd" && a.compression !== "none")
            throw bad(`archive ${a.name} has an unknown compression ${JSON.stringify(a.compression)}`);
    }
    return m;
}

/** Writes the manifest and flushes it to disk (it is what makes a backup complete). */
export function writeManifest(dir: string, m: Manifest): void {
    const file = path.join(dir, MANIFEST_FILE);
    const fd = fs.openSync(file, "w");
    try {
        fs.writeSync(fd, JSON.stringify(m, null, 2) + "\n");
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
}

/** Archive name for a source: the volume name, or the host path with `/` turned into `_`. */
export function archiveName(type: SourceType, name: string): string {
    if (type === "volume") return name;
    return name.replace(/^\/+|\/+$/g, "").replace(/[^A-Za-z0-9_.-]+/g, "_") || "root";
}

/**
 * The backup an operation was given with `--backup DIR/P/ID`, refused as a bad argument (exit 2,
 * nothing touched) when it is not whole and its own: no readable manifest; a manifest of another
 * product or id than the directory it is in (a copied or moved manifest); a restore or rollback
 * point whose manifest gives another version than its id (`<from>-to-<to>-a<n>-restore-point` is
 * taken at `<from>`); an
 * archive missing, or of another size than the manifest records (truncated, or a manifest that
 * lies). The sha256 of each archive is checked by the operation itself as it reads it.
 */
export function readBackupArg(dir: string, flag = "--backup"): Manifest {
    let m: Manifest;
    try {
        m = readManifest(dir);
    } catch (e) {
        throw new UsageError(`${flag} ${dir}: ${(e as Error).message}`);
    }
    const abs = path.resolve(dir);
    const [product, id] = [path.basename(path.dirname(abs)), path.basename(abs)];
    const bad = (what: string) =>
        new UsageError(
            `${flag} ${dir}: ${what}; give the directory a backup was written to (DIR/PRODUCT/ID), as it was written`,
        );
    if (m.product !== product || m.id !== id)
        throw bad(`its manifest is of ${m.product} backup ${m.id}, not of ${product} backup ${id}`);
    // Only a restore or rollback point is taken at the version it starts from; a hop's backup
    // (ClearML's `...-backup-before-2.0.0`) at the version before that hop.
    const taken = /^(.+?)-to-.+?-a\d+-(?:restore|rollback)-point$/.exec(m.id)?.[1];
    if (taken !== undefined && taken !== m.version)
        throw bad(`${m.id} is taken at ${taken}, but its manifest says version ${m.version}`);
    for (const a of m.archives) {
        let size: number;
        try {
            size = fs.statSync(path.join(abs, a.file)).size;
        } catch (e) {
            throw bad(`archive ${a.file} is missing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        if (size !== a.bytes)
            throw bad(
                `archive ${a.file} is ${size} bytes, the manifest records ${a.bytes} (truncated, or not the archive the manifest describes)`,
            );
    }
    return m;
}
