// `upshift preflight`: before data moves, Docker answers, the named containers and volumes exist,
// and the target has free space of at least factor x the data (the vendors ask for 3x). Without
// --target only presence is checked (a rollback's re-attach: the retained volume must still exist).
import * as fs from "fs";
import * as path from "path";
import { HookCommand, UsageError } from "./command";
import { containerState, docker, helperImage, helperName, helperRunArgs, volumeExists } from "./docker";
import { HookError, parseOptions, runOperation, splitList } from "./report";
import { formatBytes } from "./progress";
import { checkArchives } from "./archive";
import { readManifest } from "./manifest";

const USAGE = `usage: upshift preflight [--container C]... [--volume V]... [--dir D]... [--target DIR [--factor 3]]
                         [--retained-volume V]... [--retained-dir D]... [--backup DIR/P/ID]... [--helper-image IMG]
  Checks that Docker answers, the containers and volumes exist, and that DIR (on this machine,
  where the data will be written) has at least factor x the size of the volumes and dirs free.
  Without --target no space is measured: only what must be present is checked.
  --retained-volume/--retained-dir: must exist (a rollback re-attaches them; not measured).
  --backup: the backup must be there and every archive's size and sha256 match its manifest (a
  rollback restores it): checked before anything is stopped.`;

const OPTIONS = {
    container: { type: "string", multiple: true },
    volume: { type: "string", multiple: true },
    dir: { type: "string", multiple: true },
    target: { type: "string" },
    factor: { type: "string", default: "3" },
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
        if (!Number.isFinite(factor) || factor <= 0) throw new UsageError(`--factor ${values.factor}: expected a positive number`);
        if (!values.target && !values.container && !values.volume && !values.dir && !values["retained-volume"] && !values["retained-dir"] && !values.backup) {
            throw new UsageError("nothing to check: give --target and/or --container, --volume, --dir, --retained-volume, --retained-dir, --backup");
        }
        return runOperation("preflight", () => runPreflight({
            containers: splitList(values.container), volumes: splitList(values.volume), dirs: splitList(values.dir).map((d) => path.resolve(d)),
            retainedVolumes: splitList(values["retained-volume"]), retainedDirs: splitList(values["retained-dir"]).map((d) => path.resolve(d)),
            backups: (values.backup ?? []).map((b) => path.resolve(b)),
            target: values.target ? path.resolve(values.target) : undefined, factor, image: helperImage(values["helper-image"]),
        }));
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
    image: string;
}

async function runPreflight(a: PreflightArgs): Promise<Record<string, unknown>> {
    const v = await docker(["version", "--format", "{{.Server.Version}}"], { check: false, timeoutMs: 60_000 });
    if (v.code !== 0) {
        throw new HookError(`Docker is not reachable at ${process.env.DOCKER_HOST || "the local socket"}: ${v.stderr.trim().split("\n").pop()}`);
    }
    const missing: string[] = [];
    for (const c of a.containers) if (!(await containerState(c))) missing.push(`container ${c}`);
    for (const vol of a.volumes) if (!(await volumeExists(vol))) missing.push(`volume ${vol}`);
    for (const vol of a.retainedVolumes) if (!(await volumeExists(vol))) missing.push(`retained volume ${vol} (the rollback re-attaches it)`);
    if (missing.length) throw new HookError(`missing on the Docker host: ${missing.join(", ")}; nothing was stopped or changed`);
    if (a.retainedDirs.length) await measure([], a.retainedDirs, a.image);
    for (const b of a.backups) await checkBackup(b);
    if (a.target === undefined) {
        // A bind-mounted dir is checked for presence the way measure() does it: by the engine.
        if (a.dirs.length) await measure([], a.dirs, a.image);
        return { docker: v.stdout.trim(), containers: a.containers, volumes: a.volumes, dirs: a.dirs };
    }

    const dataBytes = await measure(a.volumes, a.dirs, a.image);
    const { free, at } = freeSpace(a.target);
    const need = Math.ceil(a.factor * dataBytes);
    if (free < need) {
        throw new HookError(`not enough free space at ${a.target} (${at}): ${formatBytes(free)} free, ${formatBytes(need)} needed (${a.factor} x ${formatBytes(dataBytes)} of data); short by ${formatBytes(need - free)}. Free space there or choose another target`);
    }
    return { docker: v.stdout.trim(), containers: a.containers, volumes: a.volumes, dirs: a.dirs, target: a.target, dataBytes, freeBytes: free, needBytes: need, factor: a.factor };
}

/** A backup a rollback will restore: present, its manifest readable, every archive's size and sha256 as recorded. */
async function checkBackup(dir: string): Promise<void> {
    let m;
    try {
        m = readManifest(dir);
    } catch (e) {
        throw new HookError(`the restore point ${dir} is not usable (${(e as Error).message}); nothing was stopped or changed. `
            + "Restore it from the off-site copy (upshift pull) or set the version back");
    }
    const problems = await checkArchives(dir, m.archives);
    if (problems.length) {
        throw new HookError(`the restore point ${dir} is damaged: ${problems.join("; ")}; nothing was stopped or changed. `
            + "Restore it from the off-site copy (upshift pull) or set the version back");
    }
}

// One helper container measures every source; du -sb is GNU, busybox has only -k.
const DU_SCRIPT = `for d in "$@"; do s=$(du -sb "$d" 2>/dev/null | cut -f1) || s=""; [ -n "$s" ] || s=$(( $(du -sk "$d" | cut -f1) * 1024 )); echo "UPSHIFT-DU $s"; done`;

async function measure(volumes: string[], dirs: string[], image: string): Promise<number> {
    const mounts = [
        ...volumes.map((v, i) => ["--mount", `type=volume,src=${v},dst=/m/v${i},readonly`]),
        ...dirs.map((d, i) => ["--mount", `type=bind,src=${d},dst=/m/d${i},readonly`]),
    ].flat();
    const paths = [...volumes.map((_, i) => `/m/v${i}`), ...dirs.map((_, i) => `/m/d${i}`)];
    if (!paths.length) return 0;
    const r = await docker([...helperRunArgs(helperName("du")), ...mounts, image, "sh", "-c", DU_SCRIPT, "sh", ...paths], { check: false });
    if (r.code !== 0) {
        const why = /bind source path does not exist: (\S+)/.exec(r.stderr);
        if (why) throw new HookError(`missing on the Docker host: directory ${why[1]}`);
        throw new HookError(`cannot measure the data: ${r.stderr.trim().split("\n").pop()}`);
    }
    return [...r.stdout.matchAll(/UPSHIFT-DU (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
}

/** Free bytes for an unprivileged writer at `target`, or at its nearest existing parent. */
function freeSpace(target: string): { free: number; at: string } {
    let at = target;
    while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
    const s = fs.statfsSync(at);
    return { free: s.bavail * s.bsize, at };
}
