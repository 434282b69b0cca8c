// Reading, checking and listing backups in the on-disk format of docs/hooks-cli.md ("Backups on
// disk"): `<backup-dir>/<product>/<id>/` with one archive per source and a manifest.json.
// Used by push/pull/list/prune. Imports nothing from Pulumi (design.md).
import { createHash } from "crypto";
import { createReadStream, promises as fsp } from "fs";
import * as path from "path";

export const MANIFEST_FILE = "manifest.json";
export const MANIFEST_FORMAT = "upshift-backup/1";
export const PARTIAL_SUFFIX = ".partial";

export type SourceType = "volume" | "dir";

/** One archive of a backup: one source (a volume or a host directory) as one verified stream. */
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

/** `<backup>/manifest.json`: what a backup holds and the sha256 of every archive. */
export interface BackupManifest {
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

/** complete: every archive present with its manifest size (not hashed); checksum-ok: every
 *  archive's sha256 matches the manifest; corrupt: a size or sha256 differs; partial: manifest or
 *  an archive missing, or a `.partial` directory; foreign: not as upshift wrote it (the manifest is
 *  unreadable, or names another id or product: a copied or renamed directory). */
export type BackupStatus = "complete" | "checksum-ok" | "corrupt" | "partial" | "foreign";

export interface BackupEntry {
    location: "local" | "s3";
    product: string;
    id: string;
    version?: string;
    label?: string;
    createdAt?: string;
    /** Sum of the archives' sizes (as found). */
    bytes: number;
    status: BackupStatus;
    problems: string[];
    /** Local directory of the backup. */
    path?: string;
    /** S3 bucket and key prefix of the backup (`<prefix>/<product>/<id>`). */
    bucket?: string;
    key?: string;
}

// Ids, products (hooks/volumes/backup.ts allows letters, digits and _ . + -) and archive file names
// (hooks/volumes/manifest.ts archiveName: a dir source may start with `_`). Never `.`/`..`, never `/`.
const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

/** A name that is safe as one path segment / key segment. */
export function isSafeSegment(s: unknown): s is string {
    return typeof s === "string" && s.length <= 255 && SAFE_SEGMENT.test(s);
}

/** Parses and checks a manifest: the one reader of the format, for restore, verify and preflight
 *  (hooks/volumes/manifest.ts readManifest, from disk) as for list, push, pull and prune (from disk
 *  or S3). The file names in it come from disk or from S3, so they are checked to be plain file
 *  names (a hostile manifest must not write outside the target). It lives here, not in volumes/,
 *  because volumes/ uses offsite/ (restore --from-s3, list) and folders never import in a cycle. */
export function parseManifest(text: string, where: string): BackupManifest {
    let m: any;
    try {
        m = JSON.parse(text);
    } catch (e) {
        throw new Error(`${where}: manifest is not valid JSON (${(e as Error).message})`);
    }
    const bad = (what: string) => new Error(`${where}: manifest ${what}`);
    if (!m || typeof m !== "object") throw bad("is not an object");
    if (m.format !== MANIFEST_FORMAT)
        throw bad(`has format ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}"`);
    if (!isSafeSegment(m.id)) throw bad(`has an invalid id ${JSON.stringify(m.id)}`);
    if (!isSafeSegment(m.product)) throw bad(`has an invalid product ${JSON.stringify(m.product)}`);
    if (typeof m.version !== "string") throw bad("has no version");
    if (typeof m.createdAt !== "string" || Number.isNaN(Date.parse(m.createdAt))) throw bad("has no valid createdAt");
    if (m.label !== undefined && typeof m.label !== "string") throw bad("has a label that is not a string");
    if (!Array.isArray(m.archives)) throw bad("has no archives list");
    const seen = new Set<string>();
    for (const a of m.archives) {
        if (!a || typeof a !== "object") throw bad("has an archive entry that is not an object");
        if (!isSafeSegment(a.file) || a.file === MANIFEST_FILE)
            throw bad(`has an invalid archive file name ${JSON.stringify(a.file)}`);
        if (seen.has(a.file)) throw bad(`lists ${a.file} twice`);
        seen.add(a.file);
        if (typeof a.bytes !== "number" || !Number.isInteger(a.bytes) || a.bytes < 0)
            throw bad(`has no valid size for ${a.file}`);
        if (typeof a.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(a.sha256))
            throw bad(`has no valid sha256 for ${a.file}`);
        if (a.compression !== undefined && a.compression !== "zstd" && a.compression !== "none")
            throw bad(`has an unknown compression ${JSON.stringify(a.compression)} for ${a.file}`);
    }
    return m as BackupManifest;
}

/** sha256 (hex) and size of a file, streamed. */
export async function sha256File(
    file: string,
    onBytes?: (n: number) => void,
): Promise<{ sha256: string; bytes: number }> {
    const h = createHash("sha256");
    let bytes = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
        h.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        onBytes?.((chunk as Buffer).length);
    }
    return { sha256: h.digest("hex"), bytes };
}

export async function readLocalManifest(dir: string): Promise<BackupManifest> {
    const file = path.join(dir, MANIFEST_FILE);
    return parseManifest(await fsp.readFile(file, "utf8"), file);
}

async function statSize(file: string): Promise<number | undefined> {
    try {
        const st = await fsp.stat(file);
        return st.isFile() ? st.size : undefined;
    } catch {
        return undefined;
    }
}

/** Status of one local backup directory. With `verify`, every archive is hashed. */
export async function inspectLocalBackup(
    dir: string,
    opts: { verify?: boolean; progress?: Progress } = {},
): Promise<BackupEntry> {
    const base = path.basename(dir);
    const isPartialDir = base.endsWith(PARTIAL_SUFFIX);
    const entry: BackupEntry = {
        location: "local",
        product: path.basename(path.dirname(dir)),
        id: isPartialDir ? base.slice(0, -PARTIAL_SUFFIX.length) : base,
        bytes: 0,
        status: "complete",
        problems: [],
        path: dir,
    };
    let manifest: BackupManifest;
    try {
        manifest = await readLocalManifest(dir);
    } catch (e) {
        const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
        entry.status = missing || isPartialDir ? "partial" : "foreign";
        entry.problems.push(missing ? "no manifest.json" : (e as Error).message);
        if (isPartialDir) entry.problems.push("unfinished (.partial directory)");
        return entry;
    }
    Object.assign(entry, { version: manifest.version, label: manifest.label, createdAt: manifest.createdAt });
    if (manifest.id !== entry.id || manifest.product !== entry.product) {
        entry.problems.push(
            `manifest says ${manifest.product}/${manifest.id}, directory is ${entry.product}/${entry.id}`,
        );
        if (!isPartialDir) {
            entry.status = "foreign";
            return entry;
        }
    }
    const sizes = await checkArchiveSizes(manifest, entry, (file) => statSize(path.join(dir, file)));
    const missing = sizes.missing;
    let corrupt = sizes.corrupt;
    if (!missing && !corrupt && opts.verify) {
        for (const a of manifest.archives) {
            const got = await sha256File(path.join(dir, a.file), opts.progress?.bytes.bind(opts.progress));
            if (got.sha256 !== a.sha256) {
                corrupt = true;
                entry.problems.push(`${a.file}: sha256 ${got.sha256}, manifest says ${a.sha256}`);
            }
        }
    }
    if (isPartialDir) entry.problems.push("unfinished (.partial directory)");
    entry.status = isPartialDir || missing ? "partial" : corrupt ? "corrupt" : opts.verify ? "checksum-ok" : "complete";
    return entry;
}

/**
 * Sizes of a backup's archives (local files or S3 objects) against its manifest: adds each size to
 * `entry.bytes` and each problem to `entry.problems`. `extra` checks an archive whose size is right
 * (e.g. the sha256 in an S3 object's metadata) and returns a problem, if any.
 */
export async function checkArchiveSizes(
    manifest: BackupManifest,
    entry: { bytes: number; problems: string[] },
    sizeOf: (file: string) => Promise<number | undefined> | number | undefined,
    extra?: (archive: BackupManifest["archives"][number]) => Promise<string | undefined>,
): Promise<{ missing: boolean; corrupt: boolean }> {
    let missing = false;
    let corrupt = false;
    for (const a of manifest.archives) {
        const size = await sizeOf(a.file);
        if (size === undefined) {
            missing = true;
            entry.problems.push(`${a.file}: missing`);
            continue;
        }
        entry.bytes += size;
        if (size !== a.bytes) {
            corrupt = true;
            entry.problems.push(`${a.file}: ${size} bytes, manifest says ${a.bytes}`);
            continue;
        }
        const problem = await extra?.(a);
        if (problem) {
            corrupt = true;
            entry.problems.push(problem);
        }
    }
    return { missing, corrupt };
}

/** Verifies every archive of a local backup against its manifest (sha256 and size). */
export async function verifyLocalBackup(
    dir: string,
    progress?: Progress,
): Promise<{ ok: boolean; problems: string[]; manifest?: BackupManifest }> {
    const e = await inspectLocalBackup(dir, { verify: true, progress });
    let manifest: BackupManifest | undefined;
    try {
        manifest = await readLocalManifest(dir);
    } catch {
        manifest = undefined;
    }
    return { ok: e.status === "checksum-ok", problems: e.problems, manifest };
}

/** Every backup under `<backupDir>/<product>/<id>` (and `<id>.partial`), newest first. */
export async function listLocalBackups(
    backupDir: string,
    opts: { product?: string; verify?: boolean } = {},
): Promise<BackupEntry[]> {
    const out: BackupEntry[] = [];
    let products: string[];
    try {
        products = (await fsp.readdir(backupDir, { withFileTypes: true }))
            .filter((d) => d.isDirectory())
            .map((d) => d.name);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw e;
    }
    for (const product of products.sort()) {
        if (opts.product && product !== opts.product) continue;
        const ids = (await fsp.readdir(path.join(backupDir, product), { withFileTypes: true })).filter((d) =>
            d.isDirectory(),
        );
        for (const d of ids)
            out.push(await inspectLocalBackup(path.join(backupDir, product, d.name), { verify: opts.verify }));
    }
    return sortNewestFirst(out);
}

export function sortNewestFirst<T extends { product: string; id: string; createdAt?: string }>(list: T[]): T[] {
    const t = (x: T) => (x.createdAt ? Date.parse(x.createdAt) : NaN);
    return list.sort(
        (a, b) => a.product.localeCompare(b.product) || (t(b) || 0) - (t(a) || 0) || b.id.localeCompare(a.id),
    );
}

/** Deletes a local backup: the manifest first (so an interrupted delete leaves a `partial`
 *  backup, never a `complete` one with archives missing), then the directory. */
export async function deleteLocalBackup(dir: string): Promise<void> {
    await fsp.rm(path.join(dir, MANIFEST_FILE), { force: true });
    await fsp.rm(dir, { recursive: true, force: true });
}

/** Progress on stderr, at most once a second: bytes done, total, rate. */
export class Progress {
    private done = 0;
    private last = 0;
    private readonly start = Date.now();
    constructor(
        private readonly what: string,
        private readonly total: number,
        private readonly quiet = false,
    ) {}
    bytes(n: number): void {
        this.done += n;
        const now = Date.now();
        if (!this.quiet && now - this.last >= 1000) {
            this.last = now;
            this.print();
        }
    }
    finish(): void {
        if (!this.quiet) this.print();
    }
    private print(): void {
        const secs = Math.max((Date.now() - this.start) / 1000, 0.001);
        process.stderr.write(
            `${this.what}: ${formatBytes(this.done)} / ${formatBytes(this.total)} (${formatBytes(this.done / secs)}/s)\n`,
        );
    }
}

export function formatBytes(n: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
        n /= 1024;
        i++;
    }
    return `${i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
}
