// hooks/offsite/: the copies of backups off this host and their retention: this file's S3 client
// and copies, push, pull, prune (retention.ts decides, pure) and the backup index. They use core/ only.
//
// Off-site copies of backups in S3 (or an S3-compatible server): upload, download with
// verification, listing with status, deletion. Imports nothing from Pulumi (design.md).
//
// Layout in the bucket: `[<prefix>/]<product>/<id>/<archive file>` and `.../manifest.json`, the
// same names as on disk (docs/hooks-cli.md "Backups on disk"). The manifest is uploaded last and
// deleted first, so a backup whose manifest is in the bucket has all its archives there.
//
// Credentials: ONLY the AWS SDK's default provider chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/
// AWS_SESSION_TOKEN, AWS_PROFILE and ~/.aws/{config,credentials}, SSO, web identity, ECS/EC2
// metadata). Nothing here takes a key as an argument and nothing prints one.
//
// Integrity, three layers:
//  - every upload (single PUT or each multipart part) carries an S3 SHA256 checksum
//    (ChecksumAlgorithm SHA256: the server rejects a part whose bytes do not match);
//  - our own sha256 of the whole archive (the manifest's) is stored in the object's metadata
//    (`x-amz-meta-sha256`) and compared on push (local file re-hashed while streaming) and list;
//  - pull hashes every byte it downloads and compares with the manifest before the backup is
//    renamed into place; a mismatch fails and leaves nothing at the target.
import {
    DeleteObjectCommand,
    GetObjectCommand,
    HeadObjectCommand,
    ListObjectsV2Command,
    PutObjectCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createHash } from "crypto";
import { createReadStream, createWriteStream, promises as fsp } from "fs";
import * as path from "path";
import { Readable, Transform, Writable } from "stream";
import { pipeline } from "stream/promises";
import {
    BackupEntry,
    BackupManifest,
    checkArchiveSizes,
    inspectLocalBackup,
    MANIFEST_FILE,
    parseManifest,
    PARTIAL_SUFFIX,
    Progress,
    readLocalManifest,
    sortNewestFirst,
    verifyLocalBackup,
} from "./backup-index";
import { publishDir } from "../core/atomic-file";
import { HookError } from "../core/report";
import { s3EndpointSetting } from "../core/settings";

/** S3's minimum part size; parts are buffered in memory (queueSize of them at once). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
const MAX_PARTS = 10000;

export interface S3Target {
    client: S3Client;
    bucket: string;
}

export interface S3ClientOptions {
    /** `--s3-endpoint`, else env UPSHIFT_S3_ENDPOINT; path-style addressing when set. */
    endpoint?: string;
    /** `--region`, else AWS_REGION / AWS_DEFAULT_REGION / the profile's region. */
    region?: string;
    env?: NodeJS.ProcessEnv;
}

/** An S3 client with the SDK's default credential chain; the endpoint override is for
 *  S3-compatible servers (MinIO-like, and the tests' s3rver on 127.0.0.1). */
export function makeS3Client(opts: S3ClientOptions = {}): S3Client {
    const env = opts.env ?? process.env;
    const endpoint = opts.endpoint || s3EndpointSetting(env);
    if (endpoint && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
        throw new HookError(`S3 endpoint must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
    }
    // With a custom endpoint the region is only used for signing: default it so a MinIO-like
    // server works without an AWS profile. Without one, the SDK resolves it (env, profile).
    const region = opts.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? "us-east-1" : undefined);
    return new S3Client({ region, endpoint, forcePathStyle: Boolean(endpoint) });
}

/** `a/b/` -> `a/b`; empty stays empty. Rejects `..` segments. */
export function normalizePrefix(prefix: string | undefined): string {
    const p = (prefix ?? "").replace(/^\/+|\/+$/g, "");
    if (p.split("/").some((s) => s === ".." || s === "."))
        throw new HookError(`invalid S3 prefix ${JSON.stringify(prefix)}`);
    return p;
}

export function joinKey(...parts: string[]): string {
    return parts.filter((p) => p !== "").join("/");
}

export function backupKeyPrefix(prefix: string, product: string, id: string): string {
    return joinKey(normalizePrefix(prefix), product, id);
}

function isNotFound(e: unknown): boolean {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    return err?.name === "NotFound" || err?.name === "NoSuchKey" || err?.$metadata?.httpStatusCode === 404;
}

/** Explains an SDK error in one line without request details (never a credential). */
export function s3Error(what: string, e: unknown): HookError {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = err?.$metadata?.httpStatusCode ? ` (HTTP ${err.$metadata.httpStatusCode})` : "";
    let hint = "";
    if (err?.name === "CredentialsProviderError")
        hint =
            "; set AWS credentials in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or a profile (AWS_PROFILE)";
    if (/Region is missing/i.test(err?.message ?? "")) hint = "; set AWS_REGION or --region";
    return new HookError(`${what}: ${err?.name ?? "Error"}: ${err?.message ?? String(e)}${status}${hint}`);
}

async function headObject(t: S3Target, key: string) {
    try {
        return await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }));
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw s3Error(`cannot read s3://${t.bucket}/${key}`, e);
    }
}

async function getText(t: S3Target, key: string): Promise<string | undefined> {
    try {
        const r = await t.client.send(new GetObjectCommand({ Bucket: t.bucket, Key: key, ChecksumMode: "ENABLED" }));
        return await r.Body!.transformToString("utf8");
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw s3Error(`cannot read s3://${t.bucket}/${key}`, e);
    }
}

/** Every key (with size) under a prefix, all pages. */
export async function listKeys(t: S3Target, prefix: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    let token: string | undefined;
    do {
        let r;
        try {
            r = await t.client.send(
                new ListObjectsV2Command({ Bucket: t.bucket, Prefix: prefix, ContinuationToken: token }),
            );
        } catch (e) {
            throw s3Error(`cannot list s3://${t.bucket}/${prefix}`, e);
        }
        for (const o of r.Contents ?? []) if (o.Key) out.set(o.Key, o.Size ?? 0);
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
}

function sameArchives(a: BackupManifest, b: BackupManifest): boolean {
    const sig = (m: BackupManifest) => JSON.stringify(m.archives.map((x) => [x.file, x.bytes, x.sha256]).sort());
    return sig(a) === sig(b);
}

export interface PushResult {
    bucket: string;
    key: string;
    product: string;
    id: string;
    archives: number;
    uploaded: number;
    skipped: number;
    bytes: number;
}

/**
 * Uploads a local backup directory: each archive (multipart, SHA256 checksums, our sha256 in
 * metadata), then manifest.json last. The local archive is hashed while it streams; if it does
 * not match its manifest the object is deleted again and the push fails. A rerun skips archives
 * already in the bucket with the same size and sha256 metadata.
 */
export async function pushBackup(opts: {
    target: S3Target;
    backupDir: string;
    prefix?: string;
    partSize?: number;
    queueSize?: number;
    quiet?: boolean;
}): Promise<PushResult> {
    const t = opts.target;
    const dir = path.resolve(opts.backupDir);
    if (path.basename(dir).endsWith(PARTIAL_SUFFIX))
        throw new HookError(`${dir} is an unfinished backup (.partial); not pushed`);
    const entry = await inspectLocalBackup(dir);
    if (entry.status !== "complete")
        throw new HookError(`${dir} is ${entry.status}: ${entry.problems.join("; ")}; not pushed`);
    const manifest = await readLocalManifest(dir);
    const manifestText = await fsp.readFile(path.join(dir, MANIFEST_FILE));
    const keyPrefix = backupKeyPrefix(opts.prefix ?? "", manifest.product, manifest.id);

    const existing = await getText(t, joinKey(keyPrefix, MANIFEST_FILE));
    if (existing !== undefined) {
        let other: BackupManifest | undefined;
        try {
            other = parseManifest(existing, `s3://${t.bucket}/${keyPrefix}/${MANIFEST_FILE}`);
        } catch {
            other = undefined; // unreadable: overwritten below, with the archives checked one by one
        }
        if (other && !sameArchives(other, manifest)) {
            throw new HookError(
                `s3://${t.bucket}/${keyPrefix} already holds a different backup with id ${manifest.id}; not overwritten`,
            );
        }
    }

    let uploaded = 0;
    let skipped = 0;
    let bytes = 0;
    for (const a of manifest.archives) {
        const key = joinKey(keyPrefix, a.file);
        const head = await headObject(t, key);
        if (head && head.ContentLength === a.bytes && head.Metadata?.sha256 === a.sha256) {
            skipped++;
            continue;
        }
        const file = path.join(dir, a.file);
        const progress = new Progress(`push ${manifest.product}/${manifest.id}/${a.file}`, a.bytes, opts.quiet);
        const hash = createHash("sha256");
        const tap = new Transform({
            transform(chunk: Buffer, _enc, cb) {
                hash.update(chunk);
                progress.bytes(chunk.length);
                cb(null, chunk);
            },
        });
        const source = createReadStream(file, { highWaterMark: 1 << 20 });
        source.on("error", (e) => tap.destroy(e));
        source.pipe(tap);
        const partSize = Math.max(opts.partSize ?? DEFAULT_PART_SIZE, MIN_PART_SIZE, Math.ceil(a.bytes / MAX_PARTS));
        const upload = new Upload({
            client: t.client,
            partSize,
            queueSize: opts.queueSize ?? 4,
            leavePartsOnError: false,
            params: {
                Bucket: t.bucket,
                Key: key,
                Body: tap,
                ContentType: "application/zstd",
                ChecksumAlgorithm: "SHA256",
                Metadata: { sha256: a.sha256, "upshift-product": manifest.product, "upshift-id": manifest.id },
            },
        });
        try {
            await upload.done();
        } catch (e) {
            throw s3Error(`upload of ${file} to s3://${t.bucket}/${key} failed`, e);
        }
        progress.finish();
        const got = hash.digest("hex");
        if (got !== a.sha256) {
            await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key })).catch(() => undefined);
            throw new HookError(
                `${file} has sha256 ${got} but its manifest says ${a.sha256} (corrupt local backup); its upload was deleted`,
            );
        }
        uploaded++;
        bytes += a.bytes;
    }
    try {
        await t.client.send(
            new PutObjectCommand({
                Bucket: t.bucket,
                Key: joinKey(keyPrefix, MANIFEST_FILE),
                Body: manifestText,
                ContentType: "application/json",
                ChecksumAlgorithm: "SHA256",
                Metadata: { sha256: createHash("sha256").update(manifestText).digest("hex") },
            }),
        );
    } catch (e) {
        throw s3Error(`upload of the manifest to s3://${t.bucket}/${keyPrefix} failed`, e);
    }
    return {
        bucket: t.bucket,
        key: keyPrefix,
        product: manifest.product,
        id: manifest.id,
        archives: manifest.archives.length,
        uploaded,
        skipped,
        bytes,
    };
}

async function readManifestAt(t: S3Target, keyPrefix: string): Promise<{ manifest: BackupManifest; text: string }> {
    const key = joinKey(keyPrefix, MANIFEST_FILE);
    const text = await getText(t, key);
    if (text === undefined)
        throw new HookError(`no backup at s3://${t.bucket}/${keyPrefix} (${MANIFEST_FILE} not found)`);
    return { manifest: parseManifest(text, `s3://${t.bucket}/${key}`), text };
}

/** Streams one object through sha256 into `sink` (a file, or nowhere). */
async function downloadHashed(
    t: S3Target,
    key: string,
    sinkFile: string | undefined,
    progress: Progress,
): Promise<{ sha256: string; bytes: number }> {
    let r;
    try {
        r = await t.client.send(new GetObjectCommand({ Bucket: t.bucket, Key: key, ChecksumMode: "ENABLED" }));
    } catch (e) {
        throw s3Error(`cannot download s3://${t.bucket}/${key}`, e);
    }
    const hash = createHash("sha256");
    let bytes = 0;
    const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            bytes += chunk.length;
            progress.bytes(chunk.length);
            cb(null, chunk);
        },
    });
    try {
        const sink = sinkFile
            ? createWriteStream(sinkFile, { flags: "wx" })
            : new Writable({ write: (_c, _e, cb) => cb() });
        await pipeline(r.Body as Readable, tap, sink);
    } catch (e) {
        // The SDK itself fails the stream when S3 returns a full-object checksum that does not match.
        throw new HookError(`download of s3://${t.bucket}/${key} failed: ${(e as Error).message}`);
    }
    progress.finish();
    return { sha256: hash.digest("hex"), bytes };
}

export interface PullResult {
    bucket: string;
    key: string;
    product: string;
    id: string;
    backup: string;
    archives: number;
    bytes: number;
    alreadyPresent: boolean;
}

/**
 * Downloads the backup at `keyPrefix` into `<toDir>/<product>/<id>` (the on-disk layout, so
 * `restore --backup` takes it). Everything goes to `<id>.partial` first; each archive's sha256 and
 * size are checked against the manifest and only then is the directory renamed into place. A
 * corrupt object fails the pull and nothing is left at the target.
 */
export async function pullBackup(opts: {
    target: S3Target;
    keyPrefix: string;
    toDir: string;
    quiet?: boolean;
}): Promise<PullResult> {
    const t = opts.target;
    const keyPrefix = normalizePrefix(opts.keyPrefix);
    const { manifest, text } = await readManifestAt(t, keyPrefix);
    const dest = path.join(path.resolve(opts.toDir), manifest.product, manifest.id);
    const base = {
        bucket: t.bucket,
        key: keyPrefix,
        product: manifest.product,
        id: manifest.id,
        backup: dest,
        archives: manifest.archives.length,
    };

    if (
        await fsp.stat(dest).then(
            () => true,
            () => false,
        )
    ) {
        const v = await verifyLocalBackup(dest);
        if (v.ok && v.manifest && sameArchives(v.manifest, manifest))
            return { ...base, bytes: 0, alreadyPresent: true };
        throw new HookError(
            `${dest} already exists and is not this backup (${v.ok ? "different archives" : v.problems.join("; ")}); not overwritten`,
        );
    }
    const partial = dest + PARTIAL_SUFFIX;
    await fsp.rm(partial, { recursive: true, force: true });
    await fsp.mkdir(partial, { recursive: true });
    let bytes = 0;
    try {
        for (const a of manifest.archives) {
            const key = joinKey(keyPrefix, a.file);
            const progress = new Progress(`pull ${manifest.product}/${manifest.id}/${a.file}`, a.bytes, opts.quiet);
            const got = await downloadHashed(t, key, path.join(partial, a.file), progress);
            if (got.sha256 !== a.sha256 || got.bytes !== a.bytes) {
                throw new HookError(
                    `corrupt object s3://${t.bucket}/${key}: sha256 ${got.sha256} (${got.bytes} bytes), manifest says ${a.sha256} (${a.bytes} bytes); nothing written to ${dest}`,
                );
            }
            bytes += got.bytes;
        }
        await fsp.writeFile(path.join(partial, MANIFEST_FILE), text, { flag: "wx", mode: 0o600 });
        // Every archive and the manifest synced, renamed into place, the parent synced (core/atomic-file.ts).
        publishDir(partial, dest);
    } catch (e) {
        await fsp.rm(partial, { recursive: true, force: true });
        throw e;
    }
    return { ...base, bytes, alreadyPresent: false };
}

/** Status of every backup under `prefix` in the bucket (see BackupStatus). With `verify`, every
 *  archive is downloaded (to nowhere) and hashed. */
export async function listS3Backups(opts: {
    target: S3Target;
    prefix?: string;
    product?: string;
    verify?: boolean;
    quiet?: boolean;
}): Promise<BackupEntry[]> {
    const t = opts.target;
    const prefix = normalizePrefix(opts.prefix);
    const keys = await listKeys(t, prefix ? prefix + "/" : "");
    const groups = new Map<string, Map<string, number>>();
    for (const [key, size] of keys) {
        const rel = prefix ? key.slice(prefix.length + 1) : key;
        const parts = rel.split("/");
        if (parts.length !== 3) continue; // not <product>/<id>/<file>
        const g = `${parts[0]}/${parts[1]}`;
        if (!groups.has(g)) groups.set(g, new Map());
        groups.get(g)!.set(parts[2], size);
    }
    const out: BackupEntry[] = [];
    for (const [g, files] of groups) {
        const [product, id] = g.split("/");
        if (opts.product && product !== opts.product) continue;
        out.push(await inspectS3Backup(t, joinKey(prefix, product, id), files, opts));
    }
    return sortNewestFirst(out);
}

async function inspectS3Backup(
    t: S3Target,
    keyPrefix: string,
    files: Map<string, number>,
    opts: { verify?: boolean; quiet?: boolean },
): Promise<BackupEntry> {
    const parts = keyPrefix.split("/");
    const entry: BackupEntry = {
        location: "s3",
        product: parts[parts.length - 2],
        id: parts[parts.length - 1],
        bytes: 0,
        status: "complete",
        problems: [],
        bucket: t.bucket,
        key: keyPrefix,
    };
    if (!files.has(MANIFEST_FILE)) {
        entry.status = "partial";
        entry.problems.push("no manifest.json (upload unfinished or delete interrupted)");
        for (const s of files.values()) entry.bytes += s;
        return entry;
    }
    let manifest: BackupManifest;
    try {
        manifest = (await readManifestAt(t, keyPrefix)).manifest;
    } catch (e) {
        // Not as upshift wrote it: left alone by prune, reported (hooks/offsite/retention.ts).
        entry.status = "foreign";
        entry.problems.push((e as Error).message);
        return entry;
    }
    Object.assign(entry, { version: manifest.version, label: manifest.label, createdAt: manifest.createdAt });
    const sizes = await checkArchiveSizes(
        manifest,
        entry,
        (file) => files.get(file),
        async (a) => {
            const head = await headObject(t, joinKey(keyPrefix, a.file));
            return head?.Metadata?.sha256 === a.sha256
                ? undefined
                : `${a.file}: object metadata sha256 ${head?.Metadata?.sha256 ?? "(none)"}, manifest says ${a.sha256} (replaced object?)`;
        },
    );
    const missing = sizes.missing;
    let corrupt = sizes.corrupt;
    if (!missing && !corrupt && opts.verify) {
        for (const a of manifest.archives) {
            const key = joinKey(keyPrefix, a.file);
            let got: { sha256: string; bytes: number };
            try {
                got = await downloadHashed(
                    t,
                    key,
                    undefined,
                    new Progress(`verify s3://${t.bucket}/${key}`, a.bytes, opts.quiet),
                );
            } catch (e) {
                corrupt = true;
                entry.problems.push(`${a.file}: ${(e as Error).message}`);
                continue;
            }
            if (got.sha256 !== a.sha256) {
                corrupt = true;
                entry.problems.push(`${a.file}: sha256 ${got.sha256}, manifest says ${a.sha256}`);
            }
        }
    }
    entry.status = missing ? "partial" : corrupt ? "corrupt" : opts.verify ? "checksum-ok" : "complete";
    return entry;
}

/** Verifies one backup in S3 by downloading (to nowhere) and hashing every archive. */
export async function verifyS3Backup(t: S3Target, keyPrefix: string, quiet?: boolean): Promise<BackupEntry> {
    const files = await listKeys(t, normalizePrefix(keyPrefix) + "/");
    const rel = new Map<string, number>();
    for (const [k, s] of files) rel.set(k.slice(normalizePrefix(keyPrefix).length + 1), s);
    return inspectS3Backup(t, normalizePrefix(keyPrefix), rel, { verify: true, quiet });
}

/** Deletes a backup's objects: the manifest first (an interrupted delete leaves a `partial`
 *  backup), then the archives. In a versioned bucket this adds delete markers; the lifecycle rule
 *  of components/backupBucket.ts expires the noncurrent versions later. */
export async function deleteS3Backup(t: S3Target, keyPrefix: string): Promise<number> {
    const p = normalizePrefix(keyPrefix);
    const keys = [...(await listKeys(t, p + "/")).keys()];
    const ordered = [
        ...keys.filter((k) => k.endsWith("/" + MANIFEST_FILE)),
        ...keys.filter((k) => !k.endsWith("/" + MANIFEST_FILE)),
    ];
    for (const key of ordered) {
        try {
            await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key }));
        } catch (e) {
            throw s3Error(`cannot delete s3://${t.bucket}/${key}`, e);
        }
    }
    return ordered.length;
}

/** The S3 flags shared by push, pull, list and prune (util.parseArgs spec). */
export const S3_FLAGS = {
    bucket: { type: "string" },
    "s3-endpoint": { type: "string" },
    region: { type: "string" },
} as const;

/** The S3 target from parsed flags; undefined when no --bucket. */
export function s3TargetFrom(values: {
    bucket?: string;
    "s3-endpoint"?: string;
    region?: string;
}): S3Target | undefined {
    if (!values.bucket) return undefined;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(values.bucket))
        throw new HookError(`invalid bucket name ${JSON.stringify(values.bucket)}`);
    return { bucket: values.bucket, client: makeS3Client({ endpoint: values["s3-endpoint"], region: values.region }) };
}
