// `upshift adopt-check`: before a first `pulumi up` creates any volume or container, the data an
// existing install is adopted from is there and not empty. Without it, a volume name or host path
// that is wrong by one letter would start the product on a new, empty store (issue 11, item 4).
import { HookCommand, UsageError } from "../core/command";
import { docker, helperImage, helperName, helperRunArgs, volumeExists } from "../core/docker";
import { parseOptions, RefusedError, runOperation } from "../core/report";

const OP = "adopt-check";

const USAGE = `usage: upshift adopt-check (--volume NAME | --dir PATH)... [--all-or-none] [--how TEXT] [--helper-image IMG]
  Each volume and host directory (on the Docker host) must exist and hold at least one entry.
  --all-or-none: also fine when none of them exists or holds anything (a fresh install); refused
  when some hold data and others do not (part of an install). Nothing is created or written:
  volumes are looked up first; directories are mounted read-only with type=bind, so a missing
  one is reported, not made.
  Exit 3 (refused) with TEXT as the fix; JSON line: found (with data), empty, missing.`;

export const adoptCheck: HookCommand = {
    name: OP,
    summary: "the volumes/dirs an install is adopted from exist and hold data",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, {
            volume: { type: "string", multiple: true },
            dir: { type: "string", multiple: true },
            "all-or-none": { type: "boolean" },
            how: { type: "string" },
            "helper-image": { type: "string" },
        });
        const volumes = values.volume ?? [];
        const dirs = values.dir ?? [];
        if (!volumes.length && !dirs.length) throw new UsageError("nothing to check: give --volume and/or --dir");
        for (const d of dirs)
            if (!d.startsWith("/")) throw new UsageError(`--dir ${d}: expected an absolute path on the Docker host`);
        return runOperation(OP, async () => {
            const image = helperImage(values["helper-image"]);
            const state: Record<string, "data" | "empty" | "missing"> = {};
            for (const v of volumes)
                state[v] = (await volumeExists(v))
                    ? await entries(["--mount", `type=volume,src=${v},dst=/m,readonly`], image)
                    : "missing";
            // type=bind fails on a missing source instead of creating it (as -v would, owned by root).
            for (const d of dirs)
                state[d] = await entries(["--mount", `type=bind,src=${d},dst=/m,readonly`], image, true);
            const found = Object.keys(state).filter((k) => state[k] === "data");
            const empty = Object.keys(state).filter((k) => state[k] === "empty");
            const missing = Object.keys(state).filter((k) => state[k] === "missing");
            const fresh = found.length === 0;
            if (found.length < Object.keys(state).length && !(values["all-or-none"] && fresh)) {
                const what = [...missing.map((k) => `${k} is missing`), ...empty.map((k) => `${k} is empty`)].join(
                    ", ",
                );
                const part = values["all-or-none"]
                    ? ` while ${found.join(", ")} ${found.length > 1 ? "hold" : "holds"} data (part of an install)`
                    : "";
                throw new RefusedError(
                    `${what}${part}; nothing was created or started. ${values.how ?? "Point the config at the install's data"}`,
                );
            }
            return { found, empty, missing, fresh };
        });
    },
};

/** "data" when the mounted source has any entry, "empty" when none; "missing" for a bind source that does not exist. */
async function entries(mount: string[], image: string, bind = false): Promise<"data" | "empty" | "missing"> {
    const r = await docker(
        [...helperRunArgs(helperName("adopt-check")), ...mount, image, "sh", "-c", "ls -A /m | head -n 1"],
        { check: false },
    );
    if (r.code !== 0) {
        if (bind && /bind source path does not exist/.test(r.stderr)) return "missing";
        throw new Error(`cannot look into ${mount[1]}: ${r.stderr.trim().split("\n").pop()}`);
    }
    return r.stdout.trim() ? "data" : "empty";
}
