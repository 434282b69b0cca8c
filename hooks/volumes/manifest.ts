// The backup manifest (docs/hooks-cli.md, "Backups on disk"): what a backup holds and the sha256 of
// every archive, read by restore and verify before they touch anything.
import * as fs from "fs";
import * as path from "path";
import { UsageError } from "../core/command";
import { BackupManifest, MANIFEST_FILE, parseManifest, SourceType } from "../offsite/backup-index";

// The format's types and its one parser are in hooks/offsite/backup-index.ts (list, push, pull and
// prune read the same manifests, and volumes/ uses offsite/, never the other way round).
export { MANIFEST_FILE, MANIFEST_FORMAT } from "../offsite/backup-index";
export type { ArchiveEntry, SourceType } from "../offsite/backup-index";
export type Manifest = BackupManifest;

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
    try {
        return parseManifest(raw, file);
    } catch (e) {
        throw new Error(`${(e as Error).message}; the backup is damaged or not an upshift backup`);
    }
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
