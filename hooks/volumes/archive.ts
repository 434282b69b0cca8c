// Tar streams of volumes and host directories through short-lived helper containers: the archive
// is compressed with multi-threaded zstd and hashed while it streams (no second read) or, on a
// local Docker host, written by the helper into the backup directory and hashed from there; it is
// restored into a target only through a marker-guarded extraction that a rerun can redo.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Readable, Transform } from "stream";
import { pipeline } from "stream/promises";
import { docker, dockerStream, helperName, helperRunArgs, ProcessError, startProcess, Streaming } from "../core/docker";
import { ArchiveEntry, SourceType } from "./manifest";
import { Progress } from "../core/progress";
import { backupStream, Compression, compressWhere, zstdLevel } from "../core/settings";

export interface Source {
    readonly type: SourceType;
    /** Volume name, or a directory on the Docker host. */
    readonly name: string;
}

/** `--mount` value for a source or target inside a helper container. */
export function mountArg(s: Source, dst: string, readonly: boolean): string {
    const type = s.type === "volume" ? "volume" : "bind";
    return `type=${type},src=${s.name},dst=${dst}${readonly ? ",readonly" : ""}`;
}

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

const RESTORE_MARKER_NAME = ".upshift-restore-in-progress";

// Counts regular files and their bytes (busybox and GNU tools alike); %.0f because mawk's %d
// wraps at 2^31. GNU find prints the sizes itself (-printf), busybox's needs stat (one process
// per batch of files). Our restore marker is not data: never counted.
const STATS_BODY = `if find . -maxdepth 0 -printf '' >/dev/null 2>&1; then find . -type f ! -path ./${RESTORE_MARKER_NAME} -printf '%s\\n'; \\
else find . -type f ! -path ./${RESTORE_MARKER_NAME} -exec stat -c %s {} +; fi | awk '{n++; s+=$1} END {printf "UPSHIFT-STATS %.0f %.0f\\n", n, s}'`;
const STATS = `{ ${STATS_BODY}; } >&2`;

// zstd's level (UPSHIFT_ZSTD_LEVEL, 1 by default), the compression (UPSHIFT_COMPRESSION) and where
// zstd runs (UPSHIFT_COMPRESS) are read in core/settings.ts. Level 1: measured on CVAT-like data
// (docs/benchmarks.md), about 2.5x faster than zstd's default 3 with an archive as small, because
// zstd stores blocks it cannot compress (media) as raw blocks at close to copy speed, while text
// still shrinks about 4x. Restores read any level.

/** The archive's file name for a source's name: `.tar.zst`, or `.tar` when not compressed. */
export function archiveFile(name: string, c: Compression): string {
    return `${name}${c === "zstd" ? ".tar.zst" : ".tar"}`;
}

// Compresses inside the helper when it has zstd (less data through the Docker connection, which
// matters most for an ssh:// host); otherwise the raw tar comes out and the host compresses. The
// host tells the two apart by zstd's magic number (a tar stream starts with a file name).
// A plain sh has no pipefail: tar's status travels through a file.
const BACKUP_SCRIPT = `set -e
cd /src
if [ "$1" = helper ] && command -v zstd >/dev/null 2>&1; then
  { tar --numeric-owner -cf - . ; echo $? > /tmp/tar.rc; } | zstd "$2" -T0 -q -c
  [ "$(cat /tmp/tar.rc)" = 0 ] || { echo "tar failed with status $(cat /tmp/tar.rc)" >&2; exit 1; }
else
  tar --numeric-owner -cf - .
fi
${STATS}`;

// Direct variant for a local Docker host: the helper writes the archive into the bind-mounted
// backup directory (no copy through dockerd's attach stream) while we hash the file as it grows
// (no second read); the file is the invoking user's from its creation on. The file count walks
// the source at the same time as tar. $3 is zstd's level, or "none" for a plain tar.
// Exit 3 with UPSHIFT-NO-ZSTD = the image has no zstd: the caller falls back to streaming.
const DIRECT_SCRIPT = `set -e
umask 077
[ "$3" = none ] || command -v zstd >/dev/null 2>&1 || { echo UPSHIFT-NO-ZSTD >&2; exit 3; }
cd /src
: > "/out/$1"
chown "$2" "/out/$1" 2>/dev/null || true
{ ${STATS_BODY}; } > /tmp/stats &
stats=$!
if [ "$3" = none ]; then
  tar --numeric-owner -cf - . > "/out/$1"
else
  { tar --numeric-owner -cf - . ; echo $? > /tmp/tar.rc; } | zstd "$3" -T0 -q -c > "/out/$1"
  [ "$(cat /tmp/tar.rc)" = 0 ] || { echo "tar failed with status $(cat /tmp/tar.rc)" >&2; exit 1; }
fi
wait $stats
cat /tmp/stats >&2`;

export interface ArchiveResult {
    readonly bytes: number;
    readonly sha256: string;
    readonly files: number;
    readonly sourceBytes: number;
    readonly compressedIn: "helper" | "host";
    readonly compression: Compression;
    /** "direct": the helper wrote the file into the bind-mounted directory; "stream": it came through Docker. */
    readonly written: "direct" | "stream";
}

/** Whether the Docker host is this machine (DOCKER_HOST unset or unix://, no other context). */
export function localDockerHost(): boolean {
    const host = process.env.DOCKER_HOST;
    if (host && !host.startsWith("unix://")) return false;
    const ctx = process.env.DOCKER_CONTEXT;
    return !(!host && ctx && ctx !== "default");
}

/** A host directory the helper can bind-mount: --mount is comma-separated, such a path would need quoting. */
const mountable = (dir: string) => !/[,"\n]/.test(dir);

/**
 * Whether the helper may write the archive straight into the backup directory: only when the
 * Docker host is this machine, zstd runs in the helper, and UPSHIFT_BACKUP_STREAM=1 does not
 * force the stream.
 */
export function directBackup(outFile: string): boolean {
    if (backupStream() || compressWhere() !== "helper") return false;
    return localDockerHost() && mountable(path.dirname(outFile));
}

/**
 * Writes `source` as an archive into `outFile` (.tar.zst, or .tar with compression "none"):
 * directly on a local host, else streamed and hashed.
 */
export async function archiveSource(
    source: Source,
    outFile: string,
    image: string,
    label: string,
    c: Compression = "zstd",
): Promise<ArchiveResult> {
    if (directBackup(outFile)) {
        const r = await archiveDirect(source, outFile, image, label, c);
        if (r) return r;
        fs.rmSync(outFile, { force: true });
    }
    return archiveStream(source, outFile, image, label, c);
}

/** The helper writes the archive into the bind-mounted directory; undefined when it has no zstd. */
async function archiveDirect(
    source: Source,
    outFile: string,
    image: string,
    label: string,
    c: Compression,
): Promise<ArchiveResult | undefined> {
    const name = helperName("backup");
    const owner = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
    const tar = dockerStream(
        [
            ...helperRunArgs(name),
            "--mount",
            mountArg(source, "/src", true),
            "--mount",
            `type=bind,src=${path.dirname(outFile)},dst=/out`,
            image,
            "sh",
            "-c",
            DIRECT_SCRIPT,
            "sh",
            path.basename(outFile),
            owner,
            c === "none" ? "none" : zstdLevel(),
        ],
        { stdout: "ignore", check: false },
    );
    const progress = new Progress(label);
    let ended = false;
    const exited = tar.done.finally(() => {
        ended = true;
    });
    let r: Awaited<typeof tar.done>;
    let sha256: string;
    try {
        // Hashed while the helper writes it: the file only grows (tar and zstd write it in order).
        [r, sha256] = await Promise.all([
            exited,
            hashGrowing(
                outFile,
                () => ended,
                (n) => progress.add(n),
            ),
        ]);
    } catch (e) {
        await abort([tar], name);
        throw e;
    }
    if (r.code === 3 && /UPSHIFT-NO-ZSTD/.test(r.stderr)) return undefined;
    if (r.code !== 0) throw new ProcessError("docker", ["run", name, "backup"], r.code, r.stderr);
    const m = /UPSHIFT-STATS (\d+) (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`${label}: the helper did not report file counts`);
    const bytes = progress.done();
    if (bytes !== fs.statSync(outFile).size) throw new Error(`${label}: ${outFile} changed while it was hashed`);
    await fsyncFile(outFile);
    return {
        bytes,
        sha256,
        files: Number(m[1]),
        sourceBytes: Number(m[2]),
        compressedIn: "helper",
        compression: c,
        written: "direct",
    };
}

/**
 * sha256 of a file that another process is still appending to: reads what is there, waits for
 * more, and reads to the end once `finished()` says the writer is gone.
 */
async function hashGrowing(file: string, finished: () => boolean, onBytes: (n: number) => void): Promise<string> {
    const hash = crypto.createHash("sha256");
    const buf = Buffer.allocUnsafe(1024 * 1024);
    const pause = () => new Promise((res) => setTimeout(res, 20));
    let fh: fs.promises.FileHandle | undefined;
    try {
        for (let pos = 0; ;) {
            // Sampled before the read: a read that finds nothing after the writer ended is the end.
            const last = finished();
            if (!fh) {
                try {
                    fh = await fs.promises.open(file, "r");
                } catch (e) {
                    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
                    if (last) return hash.digest("hex"); // never created: the helper failed before
                    await pause();
                    continue;
                }
            }
            const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
            if (bytesRead > 0) {
                hash.update(buf.subarray(0, bytesRead));
                pos += bytesRead;
                onBytes(bytesRead);
            } else if (last) {
                return hash.digest("hex");
            } else {
                await pause();
            }
        }
    } finally {
        await fh?.close();
    }
}

/** Streams `source` as a .tar.zst (or a plain .tar) into `outFile`, hashing as it goes. */
async function archiveStream(
    source: Source,
    outFile: string,
    image: string,
    label: string,
    c: Compression,
): Promise<ArchiveResult> {
    const name = helperName("backup");
    const mode = c === "none" ? "none" : compressWhere();
    const tar = dockerStream([
        ...helperRunArgs(name),
        "--mount",
        mountArg(source, "/src", true),
        image,
        "sh",
        "-c",
        BACKUP_SCRIPT,
        "sh",
        mode,
        zstdLevel(),
    ]);
    const children: Streaming[] = [tar];
    const progress = new Progress(label);
    const hash = crypto.createHash("sha256");
    try {
        const head = await firstChunk(tar.stdout!);
        if (!head) {
            await tar.done; // rejects with docker's own reason (missing dir, bad image...)
            throw new Error(`${label}: the helper container produced no data`);
        }
        tar.stdout!.unshift(head);
        let compressed: Readable = tar.stdout!;
        const flows: Promise<unknown>[] = [tar.done];
        let where: "helper" | "host" = "helper";
        if (c === "zstd" && !head.subarray(0, 4).equals(ZSTD_MAGIC)) {
            where = "host";
            const zstd = startProcess("zstd", [zstdLevel(), "-T0", "-q", "-c"], { stdin: "pipe" });
            children.push(zstd);
            flows.push(zstd.done, pipeline(tar.stdout!, zstd.stdin!));
            compressed = zstd.stdout!;
        }
        flows.push(
            pipeline(
                compressed,
                tap((b) => {
                    hash.update(b);
                    progress.add(b.length);
                }),
                fs.createWriteStream(outFile, { flags: "wx" }),
            ),
        );
        const results = await Promise.all(flows);
        const m = /UPSHIFT-STATS (\d+) (\d+)/.exec((results[0] as { stderr: string }).stderr);
        if (!m) throw new Error(`${label}: the helper did not report file counts`);
        const bytes = progress.done();
        await fsyncFile(outFile);
        return {
            bytes,
            sha256: hash.digest("hex"),
            files: Number(m[1]),
            sourceBytes: Number(m[2]),
            compressedIn: where,
            compression: c,
            written: "stream",
        };
    } catch (e) {
        await abort(children, name);
        throw e;
    }
}

/** sha256 of a file, streamed, with progress. */
export async function sha256File(file: string, label: string): Promise<string> {
    const hash = crypto.createHash("sha256");
    const progress = new Progress(label, { total: fs.statSync(file).size });
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) {
        hash.update(chunk as Buffer);
        progress.add((chunk as Buffer).length);
    }
    progress.done();
    return hash.digest("hex");
}

/**
 * Checks each archive's size and sha256 against the manifest, reading each file once (sizes only
 * with `hash: false`, for a caller that hashes while it extracts). Returns one message per bad
 * archive (empty when all are good), so the caller can refuse before any write.
 */
export async function checkArchives(
    dir: string,
    archives: readonly ArchiveEntry[],
    opts: { hash?: boolean } = {},
): Promise<string[]> {
    const problems: string[] = [];
    for (const a of archives) {
        const file = path.join(dir, a.file);
        let size: number;
        try {
            size = fs.statSync(file).size;
        } catch {
            problems.push(`${a.name}: ${a.file} is missing from ${dir}`);
            continue;
        }
        if (size !== a.bytes) {
            problems.push(
                `${a.name}: ${a.file} is ${size < a.bytes ? "truncated" : "longer than recorded"} (${size} bytes, manifest says ${a.bytes})`,
            );
            continue;
        }
        if (opts.hash === false) continue;
        const got = await sha256File(file, `checksum ${a.name}`);
        if (got !== a.sha256)
            problems.push(`${a.name}: ${a.file} is corrupted (sha256 ${got}, manifest says ${a.sha256})`);
    }
    return problems;
}

/** Marker left in a target while a restore into it is under way (a rerun may clear it). */
export const RESTORE_MARKER = RESTORE_MARKER_NAME;

export interface TargetState {
    /** Entries other than lost+found. */
    readonly entries: number;
    /** Contents of our marker when a restore into it did not finish, else undefined. */
    readonly marker?: string;
    /** Whether the helper image has zstd (then it decompresses, not the host). */
    readonly helperZstd: boolean;
    /** The target did not exist yet. */
    readonly missing: boolean;
}

const INSPECT_SCRIPT = `cd /dst
n=$(ls -A | grep -v '^lost+found$' | wc -l)
z=0; command -v zstd >/dev/null 2>&1 && z=1
echo "UPSHIFT-TARGET $n $z"
[ -f ${RESTORE_MARKER} ] && { printf 'UPSHIFT-MARKER '; head -c 512 ${RESTORE_MARKER}; echo; }
exit 0`;

/** Looks into a restore target read-only: how many entries, our marker, helper's zstd. */
export async function inspectTarget(target: Source, image: string): Promise<TargetState> {
    if (target.type === "volume") {
        const r = await docker(["volume", "inspect", "--format", "{{.Name}}", target.name], { check: false });
        if (r.code !== 0) return { entries: 0, helperZstd: await imageHasZstd(image), missing: true };
    }
    const r = await docker(
        [
            ...helperRunArgs(helperName("inspect")),
            "--mount",
            mountArg(target, "/dst", true),
            image,
            "sh",
            "-c",
            INSPECT_SCRIPT,
        ],
        { check: false },
    );
    if (r.code !== 0 && target.type === "dir" && /bind source path does not exist/.test(r.stderr)) {
        return { entries: 0, helperZstd: await imageHasZstd(image), missing: true };
    }
    const m = /UPSHIFT-TARGET (\d+) (\d)/.exec(r.stdout);
    if (r.code !== 0 || !m)
        throw new Error(
            `cannot look into ${target.type} ${target.name}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`,
        );
    const mk = /^UPSHIFT-MARKER (.*)$/m.exec(r.stdout);
    return { entries: Number(m[1]), helperZstd: m[2] === "1", marker: mk ? mk[1].trim() : undefined, missing: false };
}

/** Whether the helper image has zstd (probed in a container). */
export async function imageHasZstd(image: string): Promise<boolean> {
    const r = await docker([...helperRunArgs(helperName("probe")), image, "sh", "-c", "command -v zstd"], {
        check: false,
    });
    return r.code === 0;
}

// Writes the marker before the first byte lands and removes nothing of anyone else's: the caller
// decides whether clearing is allowed ($1 = clear). GNU and busybox tar both restore numeric owners.
// $3: "zstd" = decompress here, else the bytes are a plain tar; $4: "-" = the archive comes on
// stdin, else the FIFO we feed it through. The counts are taken in the same container; then only
// the target's filesystem is flushed (syncfs), or everything where sync has no -f.
const RESTORE_SCRIPT = `set -e
cd /dst
if [ "$1" = 1 ]; then find . -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +; fi
printf '%s\\n' "$2" > ${RESTORE_MARKER}
[ "$4" = - ] || exec < "$4"
if [ "$3" = zstd ]; then
  { zstd -dc; echo $? > /tmp/zstd.rc; } | tar --numeric-owner -xpf -
  [ "$(cat /tmp/zstd.rc)" = 0 ] || { echo "zstd failed: the archive is damaged" >&2; exit 1; }
else
  tar --numeric-owner -xpf -
fi
${STATS}
sync -f . 2>/dev/null || sync`;

// Empties a target whose restore failed on a damaged archive, keeping our marker (a rerun of the
// same backup redoes it; nothing takes the target for restored).
const EMPTY_SCRIPT = `cd /dst && find . -mindepth 1 -maxdepth 1 ! -name lost+found ! -name ${RESTORE_MARKER} -exec rm -rf {} + && (sync -f . 2>/dev/null || sync)`;

/** Helper container name used for restores into a target: one at a time, and a rerun can find it. */
export function restoreHelperName(target: Source): string {
    const safe = target.name
        .replace(/[^A-Za-z0-9_.-]+/g, "_")
        .replace(/^[^A-Za-z0-9]+/, "")
        .slice(0, 60);
    const h = crypto.createHash("sha256").update(`${target.type}:${target.name}`).digest("hex").slice(0, 8);
    return `upshift-restore-${safe}-${h}`;
}

/** Removes a leftover restore helper of a killed run (it may still be extracting). */
export async function removeLeftoverHelper(name: string): Promise<void> {
    await docker(["rm", "-f", name], { check: false });
    for (let i = 0; i < 60; i++) {
        const r = await docker(["container", "inspect", "--format", "{{.Id}}", name], { check: false });
        if (r.code !== 0) return;
        await new Promise((res) => setTimeout(res, 500));
    }
    throw new Error(`container ${name} (a restore helper of an earlier run) could not be removed`);
}

/** The archive's sha256 differs from its manifest's: the target was emptied (its marker kept). */
export class DamagedArchiveError extends Error {}

/**
 * Extracts `file` into `target`, leaving RESTORE_MARKER in it (removed by clearMarkers once every
 * target is done), and returns the files and bytes found there afterwards. The archive is read
 * once: hashed as it streams into the helper, compared with `sha256` at the end. On a local Docker
 * host it goes through a FIFO the helper reads (dockerd's attach stream is slower than the rest of
 * the restore); else through the helper's stdin. A mismatch, or a stream zstd or tar refuses
 * from an archive that does not match, empties the target (marker kept) and throws
 * DamagedArchiveError: the caller must not count that target as restored.
 */
export async function extractArchive(
    file: string,
    sha256: string,
    target: Source,
    image: string,
    opts: { clear: boolean; marker: string; helperZstd: boolean; label: string; compression?: Compression },
): Promise<{ files: number; bytes: number }> {
    const name = restoreHelperName(target);
    await removeLeftoverHelper(name);
    const zstd = (opts.compression ?? "zstd") === "zstd";
    const decompressIn = !zstd ? "none" : opts.helperZstd && compressWhere() === "helper" ? "helper" : "host";
    // -v (not --mount) for a directory: Docker creates it on the host when it is new.
    const mount = target.type === "dir" ? ["-v", `${target.name}:/dst`] : ["--mount", mountArg(target, "/dst", false)];
    const fifo = localDockerHost() ? makeFifo() : undefined;
    const input = fifo ? ["--mount", `type=bind,src=${path.dirname(fifo)},dst=/in`] : [];
    const tar = dockerStream(
        [
            ...helperRunArgs(name, { interactive: !fifo }),
            ...mount,
            ...input,
            image,
            "sh",
            "-c",
            RESTORE_SCRIPT,
            "sh",
            opts.clear ? "1" : "0",
            opts.marker,
            decompressIn === "helper" ? "zstd" : "tar",
            fifo ? `/in/${path.basename(fifo)}` : "-",
        ],
        { stdin: fifo ? "ignore" : "pipe", stdout: "ignore" },
    );
    const children: Streaming[] = [tar];
    const hash = crypto.createHash("sha256");
    const progress = new Progress(opts.label, { total: fs.statSync(file).size });
    let ended = false;
    const exited = tar.done.finally(() => {
        ended = true;
    });
    exited.catch(() => undefined); // awaited below, maybe after the FIFO's open
    let streamed = false;
    try {
        const read = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
        const meter = tap((b) => {
            hash.update(b);
            progress.add(b.length);
        });
        const sink = fifo ? await openFifoWriter(fifo, () => ended) : tar.stdin!;
        const flows: Promise<unknown>[] = [exited];
        if (sink && decompressIn === "host") {
            const z = startProcess("zstd", ["-dc", "-q"], { stdin: "pipe" });
            children.push(z);
            flows.push(
                z.done,
                pipeline(read, meter, z.stdin!).then(() => {
                    streamed = true;
                }),
                pipeline(z.stdout!, sink),
            );
        } else if (sink) {
            flows.push(
                pipeline(read, meter, sink).then(() => {
                    streamed = true;
                }),
            );
        }
        const [r] = (await Promise.all(flows)) as [{ stderr: string }];
        const m = /UPSHIFT-STATS (\d+) (\d+)/.exec(r.stderr);
        if (!sink || !m) throw new Error(`${opts.label}: the helper did not report file counts`);
        progress.done();
        const got = hash.digest("hex");
        if (got !== sha256) {
            await emptyTarget(target, image);
            throw new DamagedArchiveError(
                `${opts.label}: ${file} does not match its manifest (sha256 ${got}, manifest ${sha256}); the archive is corrupted. ` +
                    `The target was emptied and keeps its restore marker; nothing was restored`,
            );
        }
        return { files: Number(m[1]), bytes: Number(m[2]) };
    } catch (e) {
        await abort(children, name);
        if (e instanceof DamagedArchiveError) throw e;
        // zstd or tar failed: on a damaged archive, or a failure of the restore itself?
        const got = streamed
            ? hash.digest("hex")
            : await sha256File(file, `checksum ${path.basename(file)}`).catch(() => "");
        if (got !== sha256) {
            await emptyTarget(target, image);
            throw new DamagedArchiveError(
                `${opts.label}: ${file} does not match its manifest's sha256: the archive is corrupted (${(e as Error).message.split("\n")[0]}). ` +
                    "The target was emptied and keeps its restore marker; nothing was restored",
            );
        }
        throw e;
    } finally {
        if (fifo) fs.rmSync(path.dirname(fifo), { recursive: true, force: true });
    }
}

/** A FIFO in a new private directory (mkfifo has no Node API); undefined where it cannot be made. */
function makeFifo(): string | undefined {
    let dir: string | undefined;
    try {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-restore-"));
        if (!mountable(dir)) throw new Error("unmountable");
        const fifo = path.join(dir, "archive");
        execFileSync("mkfifo", ["-m", "0600", fifo], { stdio: "ignore" });
        return fifo;
    } catch {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
        return undefined;
    }
}

/**
 * Opens the FIFO for writing once the helper has opened it for reading (O_NONBLOCK: ENXIO until
 * then, so a helper that fails first never leaves us blocked); undefined if the helper ended first.
 */
async function openFifoWriter(fifo: string, ended: () => boolean): Promise<net.Socket | undefined> {
    for (;;) {
        const last = ended();
        try {
            const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
            return new net.Socket({ fd, readable: false, writable: true });
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "ENXIO") throw e;
            if (last) return undefined;
            await new Promise((res) => setTimeout(res, 10));
        }
    }
}

/** Removes everything but our marker from a target (a restore from a damaged archive). */
async function emptyTarget(target: Source, image: string): Promise<void> {
    await removeLeftoverHelper(restoreHelperName(target));
    await docker([
        ...helperRunArgs(helperName("empty")),
        "--mount",
        mountArg(target, "/dst", false),
        image,
        "sh",
        "-c",
        EMPTY_SCRIPT,
    ]);
}

/** Removes the restore markers from the targets, in one helper container. */
export async function clearMarkers(targets: Source[], image: string): Promise<void> {
    if (!targets.length) return;
    const mounts = targets.flatMap((t, i) => ["--mount", mountArg(t, `/t/${i}`, false)]);
    const files = targets.map((_, i) => `/t/${i}/${RESTORE_MARKER}`);
    // Not flushed: a marker that a crash brings back only makes a rerun redo that restore.
    await docker([
        ...helperRunArgs(helperName("restore-done")),
        ...mounts,
        image,
        "sh",
        "-c",
        'rm -f "$@"',
        "sh",
        ...files,
    ]);
}

/** Counts regular files and their bytes in a volume or directory (helper container). */
export async function countFiles(s: Source, image: string): Promise<{ files: number; bytes: number }> {
    const r = await docker([
        ...helperRunArgs(helperName("count")),
        "--mount",
        mountArg(s, "/src", true),
        image,
        "sh",
        "-c",
        `cd /src && ${STATS.replace(">&2", "")}`,
    ]);
    const m = /UPSHIFT-STATS (\d+) (\d+)/.exec(r.stdout);
    if (!m) throw new Error(`cannot count the files of ${s.type} ${s.name}`);
    return { files: Number(m[1]), bytes: Number(m[2]) };
}

function tap(fn: (b: Buffer) => void): Transform {
    return new Transform({
        transform(chunk: Buffer, _e, cb) {
            fn(chunk);
            cb(null, chunk);
        },
    });
}

function firstChunk(r: Readable): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
        const onReadable = () => {
            const c = r.read() as Buffer | null;
            if (c === null) return; // spurious; wait for data or end
            cleanup();
            resolve(c);
        };
        const onEnd = () => {
            cleanup();
            resolve(null);
        };
        const onError = (e: Error) => {
            cleanup();
            reject(e);
        };
        const cleanup = () => {
            r.off("readable", onReadable);
            r.off("end", onEnd);
            r.off("error", onError);
        };
        r.on("readable", onReadable).on("end", onEnd).on("error", onError);
    });
}

async function fsyncFile(file: string): Promise<void> {
    const fh = await fs.promises.open(file, "r+");
    try {
        await fh.sync();
    } finally {
        await fh.close();
    }
}

/** Kills our children and the helper container after a failure, so nothing keeps running. */
async function abort(children: Streaming[], container: string): Promise<void> {
    for (const c of children) {
        c.fail(new Error("aborted"));
        c.child.kill("SIGKILL");
    }
    await docker(["rm", "-f", container], { check: false }).catch(() => undefined);
}
