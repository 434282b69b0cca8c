// Tar streams of volumes and host directories through short-lived helper containers: the archive
// is compressed with multi-threaded zstd and hashed while it streams (no second read) or, on a
// local Docker host, written by the helper into the backup directory and hashed from there; it is
// restored into a target only through a marker-guarded extraction that a rerun can redo.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Readable, Transform } from "stream";
import { pipeline } from "stream/promises";
import { docker, dockerStream, helperName, helperRunArgs, ProcessError, startProcess, Streaming } from "./docker";
import { ArchiveEntry, SourceType } from "./manifest";
import { Progress } from "./progress";

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
// wraps at 2^31.
// Our restore marker is not data: never counted.
const STATS = `find . -type f ! -path ./${RESTORE_MARKER_NAME} -exec stat -c %s {} + | awk '{n++; s+=$1} END {printf "UPSHIFT-STATS %.0f %.0f\\n", n, s}' >&2`;

/**
 * zstd's level for backups: 1 by default. Measured on CVAT-like data (docs/benchmarks.md): level 1
 * is about 2.5x faster than zstd's default 3 with an archive as small or smaller, because zstd
 * stores blocks it cannot compress (media that is already compressed) as raw blocks at close to
 * copy speed, while text still shrinks about 4x; the negative (--fast) levels were slower here and
 * bigger. UPSHIFT_ZSTD_LEVEL=N (1-19) or fast=N overrides it. Restores read any level.
 */
export function zstdLevel(): string {
    const v = process.env.UPSHIFT_ZSTD_LEVEL;
    if (v === undefined || v === "") return "-1";
    if (/^([1-9]|1[0-9])$/.test(v)) return `-${v}`;
    const f = /^fast=([1-9][0-9]?)$/.exec(v);
    if (f) return `--fast=${f[1]}`;
    throw new Error(`UPSHIFT_ZSTD_LEVEL=${v}: expected a level 1-19 or fast=N (1-99)`);
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
// backup directory (no copy through dockerd's attach stream), then hands it to the invoking user.
// Exit 3 with UPSHIFT-NO-ZSTD = the image has no zstd: the caller falls back to streaming.
const DIRECT_SCRIPT = `set -e
umask 077
command -v zstd >/dev/null 2>&1 || { echo UPSHIFT-NO-ZSTD >&2; exit 3; }
cd /src
{ tar --numeric-owner -cf - . ; echo $? > /tmp/tar.rc; } | zstd "$3" -T0 -q -c > "/out/$1"
[ "$(cat /tmp/tar.rc)" = 0 ] || { echo "tar failed with status $(cat /tmp/tar.rc)" >&2; exit 1; }
chown "$2" "/out/$1" 2>/dev/null || true
${STATS}`;

export interface ArchiveResult {
    readonly bytes: number;
    readonly sha256: string;
    readonly files: number;
    readonly sourceBytes: number;
    readonly compressedIn: "helper" | "host";
    /** "direct": the helper wrote the file into the bind-mounted directory; "stream": it came through Docker. */
    readonly written: "direct" | "stream";
}

/** Where zstd runs for a backup: UPSHIFT_COMPRESS=host|helper; helper by default (see BACKUP_SCRIPT). */
export function compressWhere(): "helper" | "host" {
    return process.env.UPSHIFT_COMPRESS === "host" ? "host" : "helper";
}

/**
 * Whether the helper may write the archive straight into the backup directory: only when the
 * Docker host is this machine (DOCKER_HOST unset or unix://, no other context), zstd runs in the
 * helper, and UPSHIFT_BACKUP_STREAM=1 does not force the stream.
 */
export function directBackup(outFile: string): boolean {
    if (process.env.UPSHIFT_BACKUP_STREAM === "1" || compressWhere() !== "helper") return false;
    const host = process.env.DOCKER_HOST;
    if (host && !host.startsWith("unix://")) return false;
    const ctx = process.env.DOCKER_CONTEXT;
    if (!host && ctx && ctx !== "default") return false;
    // --mount is comma-separated: such a path would need quoting; the stream handles it.
    return !/[,"\n]/.test(path.dirname(outFile));
}

/** Writes `source` as a .tar.zst into `outFile`: directly on a local host, else streamed and hashed. */
export async function archiveSource(source: Source, outFile: string, image: string, label: string): Promise<ArchiveResult> {
    if (directBackup(outFile)) {
        const r = await archiveDirect(source, outFile, image, label);
        if (r) return r;
        fs.rmSync(outFile, { force: true });
    }
    return archiveStream(source, outFile, image, label);
}

/** The helper writes the archive into the bind-mounted directory; undefined when it has no zstd. */
async function archiveDirect(source: Source, outFile: string, image: string, label: string): Promise<ArchiveResult | undefined> {
    const name = helperName("backup");
    const owner = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
    const tar = dockerStream([...helperRunArgs(name), "--mount", mountArg(source, "/src", true), "--mount", `type=bind,src=${path.dirname(outFile)},dst=/out`,
        image, "sh", "-c", DIRECT_SCRIPT, "sh", path.basename(outFile), owner, zstdLevel()], { stdout: "ignore", check: false });
    const progress = new Progress(label);
    // The bytes land on disk without passing through us: progress follows the file's size.
    const poll = setInterval(() => {
        try { progress.add(fs.statSync(outFile).size - progress.count); } catch { /* not created yet */ }
    }, 500);
    let r: Awaited<typeof tar.done>;
    try {
        r = await tar.done;
    } catch (e) {
        await abort([tar], name);
        throw e;
    } finally {
        clearInterval(poll);
    }
    if (r.code === 3 && /UPSHIFT-NO-ZSTD/.test(r.stderr)) return undefined;
    if (r.code !== 0) throw new ProcessError("docker", ["run", name, "backup"], r.code, r.stderr);
    const m = /UPSHIFT-STATS (\d+) (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`${label}: the helper did not report file counts`);
    const size = fs.statSync(outFile).size;
    progress.add(size - progress.count);
    const bytes = progress.done();
    // One read of the file just written (from the page cache), then flushed to disk.
    const hash = crypto.createHash("sha256");
    for await (const chunk of fs.createReadStream(outFile, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
    await fsyncFile(outFile);
    return { bytes, sha256: hash.digest("hex"), files: Number(m[1]), sourceBytes: Number(m[2]), compressedIn: "helper", written: "direct" };
}

/** Streams `source` as a .tar.zst into `outFile`, hashing as it goes. */
async function archiveStream(source: Source, outFile: string, image: string, label: string): Promise<ArchiveResult> {
    const name = helperName("backup");
    const tar = dockerStream([...helperRunArgs(name), "--mount", mountArg(source, "/src", true), image, "sh", "-c", BACKUP_SCRIPT, "sh", compressWhere(), zstdLevel()]);
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
        if (!head.subarray(0, 4).equals(ZSTD_MAGIC)) {
            where = "host";
            const zstd = startProcess("zstd", [zstdLevel(), "-T0", "-q", "-c"], { stdin: "pipe" });
            children.push(zstd);
            flows.push(zstd.done, pipeline(tar.stdout!, zstd.stdin!));
            compressed = zstd.stdout!;
        }
        flows.push(pipeline(compressed, tap((b) => { hash.update(b); progress.add(b.length); }), fs.createWriteStream(outFile, { flags: "wx" })));
        const results = await Promise.all(flows);
        const m = /UPSHIFT-STATS (\d+) (\d+)/.exec((results[0] as { stderr: string }).stderr);
        if (!m) throw new Error(`${label}: the helper did not report file counts`);
        const bytes = progress.done();
        await fsyncFile(outFile);
        return { bytes, sha256: hash.digest("hex"), files: Number(m[1]), sourceBytes: Number(m[2]), compressedIn: where, written: "stream" };
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
 * Checks each archive's size and sha256 against the manifest, reading each file once. Returns one
 * message per bad archive (empty when all are good), so the caller can refuse before any write.
 */
export async function checkArchives(dir: string, archives: readonly ArchiveEntry[]): Promise<string[]> {
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
            problems.push(`${a.name}: ${a.file} is ${size < a.bytes ? "truncated" : "longer than recorded"} (${size} bytes, manifest says ${a.bytes})`);
            continue;
        }
        const got = await sha256File(file, `checksum ${a.name}`);
        if (got !== a.sha256) problems.push(`${a.name}: ${a.file} is corrupted (sha256 ${got}, manifest says ${a.sha256})`);
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
    const r = await docker([...helperRunArgs(helperName("inspect")), "--mount", mountArg(target, "/dst", true), image, "sh", "-c", INSPECT_SCRIPT], { check: false });
    if (r.code !== 0 && target.type === "dir" && /bind source path does not exist/.test(r.stderr)) {
        return { entries: 0, helperZstd: await imageHasZstd(image), missing: true };
    }
    const m = /UPSHIFT-TARGET (\d+) (\d)/.exec(r.stdout);
    if (r.code !== 0 || !m) throw new Error(`cannot look into ${target.type} ${target.name}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    const mk = /^UPSHIFT-MARKER (.*)$/m.exec(r.stdout);
    return { entries: Number(m[1]), helperZstd: m[2] === "1", marker: mk ? mk[1].trim() : undefined, missing: false };
}

/** Whether the helper image has zstd (probed in a container). */
export async function imageHasZstd(image: string): Promise<boolean> {
    const r = await docker([...helperRunArgs(helperName("probe")), image, "sh", "-c", "command -v zstd"], { check: false });
    return r.code === 0;
}

// Writes the marker before the first byte lands and removes nothing of anyone else's: the caller
// decides whether clearing is allowed ($1 = clear). GNU and busybox tar both restore numeric owners.
const RESTORE_SCRIPT = `set -e
cd /dst
if [ "$1" = 1 ]; then find . -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +; fi
printf '%s\\n' "$2" > ${RESTORE_MARKER}
if [ "$3" = 1 ]; then
  { zstd -dc; echo $? > /tmp/zstd.rc; } | tar --numeric-owner -xpf -
  [ "$(cat /tmp/zstd.rc)" = 0 ] || { echo "zstd failed: the archive is damaged" >&2; exit 1; }
else
  tar --numeric-owner -xpf -
fi
sync`;

/** Helper container name used for restores into a target: one at a time, and a rerun can find it. */
export function restoreHelperName(target: Source): string {
    const safe = target.name.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^[^A-Za-z0-9]+/, "").slice(0, 60);
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

/**
 * Extracts `file` into `target`, leaving RESTORE_MARKER in it (removed by clearMarkers once every
 * target is done). Rehashes the archive as it streams and fails if it differs from `sha256`.
 */
export async function extractArchive(file: string, sha256: string, target: Source, image: string, opts: { clear: boolean; marker: string; helperZstd: boolean; label: string }): Promise<void> {
    const name = restoreHelperName(target);
    await removeLeftoverHelper(name);
    const decompressIn = opts.helperZstd && compressWhere() === "helper" ? "helper" : "host";
    // -v (not --mount) for a directory: Docker creates it on the host when it is new.
    const mount = target.type === "dir" ? ["-v", `${target.name}:/dst`] : ["--mount", mountArg(target, "/dst", false)];
    const tar = dockerStream([...helperRunArgs(name, { interactive: true }), ...mount, image, "sh", "-c", RESTORE_SCRIPT, "sh", opts.clear ? "1" : "0", opts.marker, decompressIn === "helper" ? "1" : "0"], { stdin: "pipe", stdout: "ignore" });
    const children: Streaming[] = [tar];
    const hash = crypto.createHash("sha256");
    const progress = new Progress(opts.label, { total: fs.statSync(file).size });
    try {
        const read = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
        const meter = tap((b) => { hash.update(b); progress.add(b.length); });
        const flows: Promise<unknown>[] = [tar.done];
        if (decompressIn === "host") {
            const zstd = startProcess("zstd", ["-dc", "-q"], { stdin: "pipe" });
            children.push(zstd);
            flows.push(zstd.done, pipeline(read, meter, zstd.stdin!), pipeline(zstd.stdout!, tar.stdin!));
        } else {
            flows.push(pipeline(read, meter, tar.stdin!));
        }
        await Promise.all(flows);
        progress.done();
        const got = hash.digest("hex");
        if (got !== sha256) throw new Error(`${opts.label}: ${file} changed while it was restored (sha256 ${got}, manifest ${sha256}); run restore again`);
    } catch (e) {
        await abort(children, name);
        throw e;
    }
}

/** Removes the restore markers from the targets, in one helper container. */
export async function clearMarkers(targets: Source[], image: string): Promise<void> {
    if (!targets.length) return;
    const mounts = targets.flatMap((t, i) => ["--mount", mountArg(t, `/t/${i}`, false)]);
    const files = targets.map((_, i) => `/t/${i}/${RESTORE_MARKER}`);
    await docker([...helperRunArgs(helperName("restore-done")), ...mounts, image, "sh", "-c", 'rm -f "$@" && sync', "sh", ...files]);
}

/** Counts regular files and their bytes in a volume or directory (helper container). */
export async function countFiles(s: Source, image: string): Promise<{ files: number; bytes: number }> {
    const r = await docker([...helperRunArgs(helperName("count")), "--mount", mountArg(s, "/src", true), image, "sh", "-c", `cd /src && ${STATS.replace(">&2", "")}`]);
    const m = /UPSHIFT-STATS (\d+) (\d+)/.exec(r.stdout);
    if (!m) throw new Error(`cannot count the files of ${s.type} ${s.name}`);
    return { files: Number(m[1]), bytes: Number(m[2]) };
}

function tap(fn: (b: Buffer) => void): Transform {
    return new Transform({ transform(chunk: Buffer, _e, cb) { fn(chunk); cb(null, chunk); } });
}

function firstChunk(r: Readable): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
        const onReadable = () => {
            const c = r.read() as Buffer | null;
            if (c === null) return; // spurious; wait for data or end
            cleanup();
            resolve(c);
        };
        const onEnd = () => { cleanup(); resolve(null); };
        const onError = (e: Error) => { cleanup(); reject(e); };
        const cleanup = () => { r.off("readable", onReadable); r.off("end", onEnd); r.off("error", onError); };
        r.on("readable", onReadable).on("end", onEnd).on("error", onError);
    });
}

async function fsyncFile(file: string): Promise<void> {
    const fh = await fs.promises.open(file, "r+");
    try { await fh.sync(); } finally { await fh.close(); }
}

/** Kills our children and the helper container after a failure, so nothing keeps running. */
async function abort(children: Streaming[], container: string): Promise<void> {
    for (const c of children) {
        c.fail(new Error("aborted"));
        c.child.kill("SIGKILL");
    }
    await docker(["rm", "-f", container], { check: false }).catch(() => undefined);
}
