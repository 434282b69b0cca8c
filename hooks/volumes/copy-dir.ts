// `upshift copy-dir`: copies a data directory on the Docker host into a new location and sets its
// ownership, leaving the source untouched (ClearML's Mongo 3.6 -> 4.4 guide: copy data/mongo into
// data/mongo_4, chown -R 1000:1000; the original is the way back). Runs in a helper container, so
// it works the same on a remote ssh:// Docker host. A copy that is killed leaves a marker in the
// target: a rerun clears and redoes only our own unfinished copy, never anyone else's data.
import { HookCommand, UsageError } from "../core/command";
import { docker, helperImage, helperName, helperRunArgs } from "../core/docker";
import { parseDfAvailable } from "./preflight";
import { formatBytes } from "../core/progress";
import { HookError, log, parseOptions, runOperation } from "../core/report";

/** Free space a copy of `bytes` of files needs: 5% over for directories, inodes and block rounding. */
export const copyNeed = (bytes: number) => Math.ceil(bytes * 1.05);

const USAGE = `usage: upshift copy-dir --from DIR --to DIR --owner UID:GID [--helper-image IMG]
  Copies DIR (on the Docker host) into a new or empty DIR, keeping modes, times, symlinks and
  hard links, then sets the owner of everything in the copy. The source is mounted read-only.
  A non-empty target is refused unless it holds our own unfinished copy of the same source.`;

const OPTIONS = {
    from: { type: "string" },
    to: { type: "string" },
    owner: { type: "string" },
    "helper-image": { type: "string" },
} as const;

export const COPY_MARKER = ".upshift-copy-in-progress";

// Counts entries (not the marker) and the bytes of regular files: compared on both sides after the copy.
const STATS = (dir: string) =>
    `(cd ${dir} && find . ! -path ./${COPY_MARKER} | wc -l; find . -type f ! -path ./${COPY_MARKER} -exec stat -c %s {} + | awk '{s+=$1} END {printf "%.0f\\n", s}')`;

// Looks at the target read-only: entry count, our marker, and both sides' sizes.
const INSPECT = `cd /dst
n=$(ls -A | grep -v '^${COPY_MARKER}$' | wc -l)
echo "UPSHIFT-COPY $n"
[ -f ${COPY_MARKER} ] && { printf 'UPSHIFT-MARKER '; head -c 512 ${COPY_MARKER}; echo; }
echo "UPSHIFT-SRC $( ${STATS("/src")} | tr '\\n' ' ')"
echo "UPSHIFT-DST $( ${STATS("/dst")} | tr '\\n' ' ')"
echo "UPSHIFT-DF $(df -Pk /dst | tail -n 1)"`;

// $1 = clear our unfinished copy first, $2 = marker text, $3 = owner. The marker goes in before the
// first byte and comes out last, after the ownership is set and the copy is synced. A failed copy
// (ENOSPC included) is removed at once, the marker kept: a half copy must not keep the disk full.
const COPY = `set -e
cd /dst
drop_copy() { find . -mindepth 1 -maxdepth 1 ! -name ${COPY_MARKER} -exec rm -rf {} +; }
if [ "$1" = 1 ]; then drop_copy; fi
printf '%s\\n' "$2" > ${COPY_MARKER}
cp -a /src/. /dst/ || { rc=$?; drop_copy; sync; echo "UPSHIFT-CLEARED cp exit $rc" >&2; exit $rc; }
chown -hR "$3" /dst || { rc=$?; drop_copy; echo "UPSHIFT-CLEARED chown exit $rc" >&2; exit $rc; }
src=$( ${STATS("/src")} | tr '\\n' ' ')
dst=$( ${STATS("/dst")} | tr '\\n' ' ')
[ "$src" = "$dst" ] || { drop_copy; echo "copy differs from the source: entries/bytes $dst vs $src" >&2; exit 1; }
sync
rm -f ${COPY_MARKER}
sync
echo "UPSHIFT-COPIED $src"`;

export const copyDir: HookCommand = {
    name: "copy-dir",
    summary: "copy a data directory into a new location with a given owner (the source is never written)",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, OPTIONS);
        const from = values.from,
            to = values.to,
            owner = values.owner;
        if (!from || !to || !owner) throw new UsageError("--from DIR, --to DIR and --owner UID:GID are required");
        // Paths on the Docker host, which may be another machine: never resolved against our cwd.
        for (const [k, p] of [
            ["from", from],
            ["to", to],
        ])
            if (!p.startsWith("/")) throw new UsageError(`--${k} ${p} must be an absolute path on the Docker host`);
        if (!/^\d+:\d+$/.test(owner)) throw new UsageError(`--owner ${owner} must be numeric UID:GID, e.g. 1000:1000`);
        const a = norm(from),
            b = norm(to);
        if (a === b || b.startsWith(`${a}/`) || a.startsWith(`${b}/`))
            throw new UsageError(`--from ${from} and --to ${to} must not be the same or inside each other`);
        return runOperation("copy-dir", () => runCopy(a, b, owner, helperImage(values["helper-image"])));
    },
};

const norm = (p: string) => p.replace(/\/+$/, "") || "/";

async function runCopy(from: string, to: string, owner: string, image: string): Promise<Record<string, unknown>> {
    const marker = `copy of ${from}`;
    // The source is only ever mounted read-only; a missing source is an error, never created.
    const src = ["--mount", `type=bind,src=${from},dst=/src,readonly`];
    // -v creates a missing target (and its parents) on the host: an empty dir is what we copy into anyway.
    const look = await docker(
        [...helperRunArgs(helperName("copy-inspect")), ...src, "-v", `${to}:/dst:ro`, image, "sh", "-c", INSPECT],
        { check: false },
    );
    if (look.code !== 0) {
        if (/bind source path does not exist/.test(look.stderr))
            throw new HookError(`source ${from} does not exist on the Docker host; check --from`);
        throw new HookError(
            `cannot look into ${from} / ${to}: ${look.stderr.trim().split("\n").slice(-3).join(" | ")}`,
        );
    }
    const out = look.stdout;
    const entries = Number(/UPSHIFT-COPY (\d+)/.exec(out)?.[1] ?? "0");
    const found = /^UPSHIFT-MARKER (.*)$/m.exec(out)?.[1]?.trim();
    const srcStats = /UPSHIFT-SRC (.*)$/m.exec(out)?.[1]?.trim();
    const dstStats = /UPSHIFT-DST (.*)$/m.exec(out)?.[1]?.trim();
    let clear = false;
    if (found !== undefined) {
        if (found !== marker)
            throw new HookError(
                `${to} holds an unfinished copy of another source (${found}); remove it or choose another target`,
            );
        log("copy-dir", `${to} holds our unfinished copy of ${from}: clearing it and copying again`);
        clear = true;
    } else if (entries > 0) {
        // A finished copy whose step was not recorded (e.g. the run was cut off right after): nothing to do.
        if (srcStats && srcStats === dstStats) {
            log(
                "copy-dir",
                `${to} already holds a copy of ${from} (same entries and bytes: ${srcStats}); nothing to do`,
            );
            return { from, to, owner, alreadyCopied: true };
        }
        throw new HookError(
            `${to} is not empty (${entries} entries) and is not a copy of ${from}; refusing to write into it. Move it away or choose another target`,
        );
    }
    const [nEntries, bytes] = (srcStats ?? "0 0").split(/\s+/).map(Number);
    // The copy lands next to the data (ClearML: data/mongo_4 beside data/mongo): its filesystem must
    // hold it, checked before the first byte (issue 12, finding 8). Our own unfinished copy is freed first.
    const df = /^UPSHIFT-DF (.*)$/m.exec(out)?.[1];
    if (df !== undefined) {
        const have = parseDfAvailable(df) + (clear ? Number((dstStats ?? "0 0").split(/\s+/)[1] ?? 0) : 0);
        const need = copyNeed(bytes);
        if (have < need) {
            throw new HookError(
                `not enough free space at ${to} on the Docker host for a copy of ${from}: ${formatBytes(have)} free, ${formatBytes(need)} needed ` +
                    `(${formatBytes(bytes)} of files + 5%); short by ${formatBytes(need - have)}. Free space there or choose another --to; nothing was copied`,
            );
        }
    }
    log("copy-dir", `copying ${from} (${nEntries} entries, ${bytes} bytes) -> ${to}, owner ${owner}`);
    const started = Date.now();
    // -v (not --mount) for the target: Docker creates it on the host when it is new.
    const r = await docker(
        [
            ...helperRunArgs(helperName("copy")),
            ...src,
            "-v",
            `${to}:/dst`,
            image,
            "sh",
            "-c",
            COPY,
            "sh",
            clear ? "1" : "0",
            marker,
            owner,
        ],
        { check: false },
    );
    if (r.code !== 0 || !/UPSHIFT-COPIED/.test(r.stdout)) {
        const cleared = /UPSHIFT-CLEARED/.test(r.stderr) ? "; the unfinished copy was removed" : "";
        const tail = r.stderr
            .split("\n")
            .filter((l) => l && !l.startsWith("UPSHIFT-CLEARED"))
            .slice(-3)
            .join(" | ");
        throw new HookError(
            `copy ${from} -> ${to} failed (the source is untouched${cleared}; a rerun redoes the copy): ${tail}`,
        );
    }
    const secs = (Date.now() - started) / 1000;
    log("copy-dir", `copied ${nEntries} entries, ${bytes} bytes in ${secs.toFixed(1)} s`);
    return { from, to, owner, entries: nEntries, bytes, seconds: Number(secs.toFixed(1)) };
}
