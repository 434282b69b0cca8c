// `upshift preflight`: before data moves, Docker answers, the named containers and volumes exist,
// and there is room where the data will land: the target (backups, dumps) has free space of at
// least factor x the data (the vendors ask for 3x), and the Docker host's data root (where new
// volumes and the throwaway restores of verify are made) docker-factor x the volumes' data. When
// both are one filesystem, it must hold both. Without --target only presence is checked (a
// rollback's re-attach: the retained volume must still exist).
import * as fs from "fs";
import * as path from "path";
import { HookCommand, UsageError } from "../core/command";
import { containerState, docker, helperImage, helperName, helperRunArgs, volumeExists } from "../core/docker";
import { HookError, parseOptions, runOperation, splitList } from "../core/report";
import { formatBytes } from "../core/progress";
import { checkArchives } from "./archive";
import { readManifest } from "./manifest";

const USAGE = `usage: upshift preflight [--container C]... [--volume V]... [--dir D]...
                         [--target DIR [--factor 3] [--docker-factor 2]] [--helper-image IMG]
                         [--retained-volume V]... [--retained-dir D]... [--backup DIR/P/ID]...
  Checks that Docker answers, the containers and volumes exist, that DIR (on this machine, where
  the data will be written) has at least factor x the size of the volumes and dirs free, and that
  the Docker host's data root (\`docker info\`: DockerRootDir; new volumes and throwaway test
  restores land there) has docker-factor x the size of the volumes free (0: not checked). One
  filesystem for both must hold both. Without --target no space is measured: only what must be
  present is checked. Directory copies (copy-dir) check their own target before copying.
  --retained-volume/--retained-dir: must exist (a rollback re-attaches them; not measured).
  --backup: the backup must be there and every archive's size and sha256 match its manifest (a
  rollback restores it): checked before anything is stopped.`;

const OPTIONS = {
    container: { type: "string", multiple: true },
    volume: { type: "string", multiple: true },
    dir: { type: "string", multiple: true },
    target: { type: "string" },
    factor: { type: "string", default: "3" },
    "docker-factor": { type: "string", default: "2" },
    "retained-volume": { type: "string", multiple: true },
    "retained-dir": { type: "string", multiple: true },
    backup: { type: "string", multiple: true },
    "helper-image": { type: "string" },
} as const;

export const preflight: HookCommand = {
    name: "preflight",
    summary: "Docker reachable, containers/volumes present, free space >= factor x data",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, OPTIONS);
        const factor = Number(values.factor);
        if (!Number.isFinite(factor) || factor <= 0)
            throw new UsageError(`--factor ${values.factor}: expected a positive number`);
        const dockerFactor = Number(values["docker-factor"]);
        if (!Number.isFinite(dockerFactor) || dockerFactor < 0)
            throw new UsageError(
                `--docker-factor ${values["docker-factor"]}: expected a number >= 0 (0: the Docker data root is not checked)`,
            );
        if (
            !values.target &&
            !values.container &&
            !values.volume &&
            !values.dir &&
            !values["retained-volume"] &&
            !values["retained-dir"] &&
            !values.backup
        ) {
            throw new UsageError(
                "nothing to check: give --target and/or --container, --volume, --dir, --retained-volume, --retained-dir, --backup",
            );
        }
        return runOperation("preflight", () =>
            runPreflight({
                containers: splitList(values.container),
                volumes: splitList(values.volume),
                dirs: splitList(values.dir).map((d) => path.resolve(d)),
                retainedVolumes: splitList(values["retained-volume"]),
                retainedDirs: splitList(values["retained-dir"]).map((d) => path.resolve(d)),
                backups: (values.backup ?? []).map((b) => path.resolve(b)),
                target: values.target ? path.resolve(values.target) : undefined,
                factor,
                dockerFactor,
                image: helperImage(values["helper-image"]),
            }),
        );
    },
};

interface PreflightArgs {
    containers: string[];
    volumes: string[];
    dirs: string[];
    retainedVolumes: string[];
    retainedDirs: string[];
    backups: string[];
    target?: string;
    factor: number;
    dockerFactor: number;
    image: string;
}

async function runPreflight(a: PreflightArgs): Promise<Record<string, unknown>> {
    const v = await docker(["version", "--format", "{{.Server.Version}}"], { check: false, timeoutMs: 60_000 });
    if (v.code !== 0) {
        throw new HookError(
            `Docker is not reachable at ${process.env.DOCKER_HOST || "the local socket"}: ${v.stderr.trim().split("\n").pop()}`,
        );
    }
    const missing: string[] = [];
    for (const c of a.containers) if (!(await containerState(c))) missing.push(`container ${c}`);
    for (const vol of a.volumes) if (!(await volumeExists(vol))) missing.push(`volume ${vol}`);
    for (const vol of a.retainedVolumes)
        if (!(await volumeExists(vol))) missing.push(`retained volume ${vol} (the rollback re-attaches it)`);
    if (missing.length)
        throw new HookError(`missing on the Docker host: ${missing.join(", ")}; nothing was stopped or changed`);
    if (a.retainedDirs.length) await measure([], a.retainedDirs, a.image);
    for (const b of a.backups) await checkBackup(b);
    if (a.target === undefined) {
        // A bind-mounted dir is checked for presence the way measure() does it: by the engine.
        if (a.dirs.length) await measure([], a.dirs, a.image);
        return { docker: v.stdout.trim(), containers: a.containers, volumes: a.volumes, dirs: a.dirs };
    }

    const root = a.dockerFactor > 0 && a.volumes.length ? await dockerRootDir() : undefined;
    const m = await measure(a.volumes, a.dirs, a.image, root);
    const dataBytes = m.volumes + m.dirs;
    const { free, at } = freeSpace(a.target);
    const checks = spaceChecks({
        target: { path: a.target, at, free, dev: fs.statSync(at).dev },
        dockerRoot:
            root === undefined || m.dockerRootFree === undefined
                ? undefined
                : { path: root, free: m.dockerRootFree, dev: localDev(root) },
        dataBytes,
        volumeBytes: m.volumes,
        factor: a.factor,
        dockerFactor: a.dockerFactor,
    });
    const short = shortfalls(checks);
    if (short.length) throw new HookError(short.join("; "));
    const need = Math.ceil(a.factor * dataBytes);
    return {
        docker: v.stdout.trim(),
        containers: a.containers,
        volumes: a.volumes,
        dirs: a.dirs,
        target: a.target,
        dataBytes,
        freeBytes: free,
        needBytes: need,
        factor: a.factor,
        ...(root !== undefined
            ? { dockerRoot: root, dockerRootFreeBytes: m.dockerRootFree, dockerFactor: a.dockerFactor }
            : {}),
    };
}

/** A backup a rollback will restore: present, its manifest readable, every archive's size and sha256 as recorded. */
async function checkBackup(dir: string): Promise<void> {
    let m;
    try {
        m = readManifest(dir);
    } catch (e) {
        throw new HookError(
            `the restore point ${dir} is not usable (${(e as Error).message}); nothing was stopped or changed. ` +
                "Restore it from the off-site copy (upshift pull) or set the version back",
        );
    }
    const problems = await checkArchives(dir, m.archives);
    if (problems.length) {
        throw new HookError(
            `the restore point ${dir} is damaged: ${problems.join("; ")}; nothing was stopped or changed. ` +
                "Restore it from the off-site copy (upshift pull) or set the version back",
        );
    }
}

/** One place data lands and what it must hold. */
export interface SpaceCheck {
    /** What lands there, for the message. */
    readonly what: string;
    readonly where: string;
    readonly free: number;
    readonly need: number;
    /** How `need` was computed, for the message: "3 x 10 MiB of data". */
    readonly why: string;
    readonly fix: string;
}

export interface SpaceInput {
    readonly target: { path: string; at: string; free: number; dev: number };
    /** The Docker data root; dev only when it is on this machine (a local Docker host). */
    readonly dockerRoot?: { path: string; free: number; dev?: number };
    readonly dataBytes: number;
    readonly volumeBytes: number;
    readonly factor: number;
    readonly dockerFactor: number;
}

/** Where space is needed and how much (pure: the decision preflight makes). */
export function spaceChecks(s: SpaceInput): SpaceCheck[] {
    const backups = Math.ceil(s.factor * s.dataBytes);
    const backupsWhy = `${s.factor} x ${formatBytes(s.dataBytes)} of data`;
    const targetFix = "Free space there or choose another target";
    const r = s.dockerRoot;
    if (!r || s.dockerFactor <= 0 || !s.volumeBytes) {
        return [
            {
                what: "backups",
                where: `${s.target.path} (${s.target.at})`,
                free: s.target.free,
                need: backups,
                why: backupsWhy,
                fix: targetFix,
            },
        ];
    }
    const volumes = Math.ceil(s.dockerFactor * s.volumeBytes);
    const volumesWhy = `${s.dockerFactor} x ${formatBytes(s.volumeBytes)} of volumes: new volumes and throwaway test restores`;
    const rootFix = "Free space in Docker's data root (docker system df) or move it (dockerd --data-root)";
    if (r.dev !== undefined && r.dev === s.target.dev) {
        // One filesystem: the backups and the new volumes add up.
        return [
            {
                what: "backups and Docker's new volumes",
                where: `${s.target.path} and Docker's data root ${r.path} (one filesystem)`,
                free: Math.min(s.target.free, r.free),
                need: backups + volumes,
                why: `${backupsWhy} + ${volumesWhy}`,
                fix: `${targetFix}, or ${rootFix.charAt(0).toLowerCase()}${rootFix.slice(1)}`,
            },
        ];
    }
    return [
        {
            what: "backups",
            where: `${s.target.path} (${s.target.at})`,
            free: s.target.free,
            need: backups,
            why: backupsWhy,
            fix: targetFix,
        },
        {
            what: "Docker's new volumes",
            where: `Docker's data root ${r.path} on the Docker host`,
            free: r.free,
            need: volumes,
            why: volumesWhy,
            fix: rootFix,
        },
    ];
}

/** One message per place that is short, each with what is missing and the fix. */
export function shortfalls(checks: SpaceCheck[]): string[] {
    return checks
        .filter((c) => c.free < c.need)
        .map(
            (c) =>
                `not enough free space at ${c.where}: ${formatBytes(c.free)} free, ${formatBytes(c.need)} needed (${c.why}); short by ${formatBytes(c.need - c.free)}. ${c.fix}`,
        );
}

/** `docker info`: where the engine keeps volumes and containers (DockerRootDir). */
async function dockerRootDir(): Promise<string> {
    const r = await docker(["info", "--format", "{{.DockerRootDir}}"], { check: false, timeoutMs: 60_000 });
    if (r.code !== 0) throw new HookError(`docker info failed: ${r.stderr.trim().split("\n").pop()}`);
    return parseDockerRoot(r.stdout);
}

export function parseDockerRoot(stdout: string): string {
    const root = stdout.trim();
    if (!root.startsWith("/"))
        throw new HookError(
            `docker info did not say where Docker keeps its data (DockerRootDir: ${JSON.stringify(root)}); pass --docker-factor 0 to skip that check`,
        );
    return root;
}

/** Available bytes from the last line of `df -Pk` (POSIX format: fields from the end, so a device name with spaces still parses). */
export function parseDfAvailable(text: string): number {
    const line = text.trim().split("\n").pop() ?? "";
    const f = line.trim().split(/\s+/);
    const kb = Number(f[f.length - 3]);
    if (f.length < 6 || !Number.isFinite(kb) || !/^\d+%$|^-$/.test(f[f.length - 2]))
        throw new HookError(`cannot read free space from df: ${JSON.stringify(line)}`);
    return kb * 1024;
}

/** The device of a path on this machine when the Docker host is this machine, else undefined. */
function localDev(p: string): number | undefined {
    const host = process.env.DOCKER_HOST;
    if (host && !host.startsWith("unix://")) return undefined;
    const ctx = process.env.DOCKER_CONTEXT;
    if (!host && ctx && ctx !== "default") return undefined;
    try {
        return fs.statSync(p).dev;
    } catch {
        return undefined;
    }
}

// One helper container measures every source, and the free space of Docker's data root when it is
// mounted at /dockerroot; du -sb is GNU, busybox has only -k; df -Pk is in both.
const DU_SCRIPT = `for d in "$@"; do s=$(du -sb "$d" 2>/dev/null | cut -f1) || s=""; [ -n "$s" ] || s=$(( $(du -sk "$d" | cut -f1) * 1024 )); echo "UPSHIFT-DU $d $s"; done
if [ -d /dockerroot ]; then echo "UPSHIFT-DF $(df -Pk /dockerroot | tail -n 1)"; fi`;

interface Measured {
    volumes: number;
    dirs: number;
    dockerRootFree?: number;
}

async function measure(volumes: string[], dirs: string[], image: string, dockerRoot?: string): Promise<Measured> {
    const mounts = [
        ...volumes.map((v, i) => ["--mount", `type=volume,src=${v},dst=/m/v${i},readonly`]),
        ...dirs.map((d, i) => ["--mount", `type=bind,src=${d},dst=/m/d${i},readonly`]),
        ...(dockerRoot ? [["--mount", `type=bind,src=${dockerRoot},dst=/dockerroot,readonly`]] : []),
    ].flat();
    const paths = [...volumes.map((_, i) => `/m/v${i}`), ...dirs.map((_, i) => `/m/d${i}`)];
    if (!paths.length) return { volumes: 0, dirs: 0 };
    const r = await docker(
        [...helperRunArgs(helperName("du")), ...mounts, image, "sh", "-c", DU_SCRIPT, "sh", ...paths],
        { check: false },
    );
    if (r.code !== 0) {
        const why = /bind source path does not exist: (\S+)/.exec(r.stderr);
        if (why) throw new HookError(`missing on the Docker host: directory ${why[1]}`);
        throw new HookError(`cannot measure the data: ${r.stderr.trim().split("\n").pop()}`);
    }
    const sizes = [...r.stdout.matchAll(/UPSHIFT-DU \/m\/([vd])\d+ (\d+)/g)];
    const sum = (k: string) => sizes.filter((x) => x[1] === k).reduce((n, x) => n + Number(x[2]), 0);
    const df = /^UPSHIFT-DF (.*)$/m.exec(r.stdout);
    return { volumes: sum("v"), dirs: sum("d"), ...(df ? { dockerRootFree: parseDfAvailable(df[1]) } : {}) };
}

/** Free bytes for an unprivileged writer at `target`, or at its nearest existing parent. */
function freeSpace(target: string): { free: number; at: string } {
    let at = target;
    while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
    const s = fs.statfsSync(at);
    return { free: s.bavail * s.bsize, at };
}
