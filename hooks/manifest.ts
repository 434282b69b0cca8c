// The backup manifest (docs/hooks-cli.md, "Backups on disk"): what a backup holds and the sha256 of
// every archive, read by restore and verify before they touch anything.
import * as fs from "fs";
import * as path from "path";

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
    /** What `verify --test-restore` compares, per kind (e.g. `postgres`); see hooks/verify-checks.ts. */
    readonly checks?: Record<string, unknown>;
}

/** Reads and validates `<dir>/manifest.json`; the message says what is wrong with which backup. */
export function readManifest(dir: string): Manifest {
    const file = path.join(dir, MANIFEST_FILE);
    let raw: string;
    try {
        raw = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new Error(`no backup at ${dir}: cannot read ${MANIFEST_FILE} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
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
        if (typeof a.file !== "string" || a.file !== path.basename(a.file) || a.file.startsWith(".")) throw bad(`archive file ${JSON.stringify(a.file)} is not a plain file name`);
        if (typeof a.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(a.sha256)) throw bad(`archive ${a.name} has no valid sha256`);
        if (typeof a.bytes !== "number") throw bad(`archive ${a.name} has no byte count`);
        if (a.compression !== undefined && a.compression !== "zstd" && a.compression !== "none") throw bad(`archive ${a.name} has an unknown compression ${JSON.stringify(a.compression)}`);
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
