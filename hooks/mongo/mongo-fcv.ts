// hooks/mongo/: ClearML's Mongo steps: one featureCompatibilityVersion hop (this file), and one
// hop of the server chain, where an intermediate release's mongo, elasticsearch, redis and
// apiserver run on the data until healthy (intermediate-server.ts). They use core/ only.
//
// `upshift mongo-fcv`: one hop of a Mongo featureCompatibilityVersion chain, written once and
// parameterised by image and FCV (ClearML's Mongo 3.6 -> 4.4 guide runs it for 4.0.27, 4.2.16 and
// 4.4.9 in turn): start that mongo on the data, wait until it answers ping, set the FCV, require
// { ok: 1 } and read the FCV back, then stop and remove the temporary container, also on failure.
import * as crypto from "crypto";
import { HookCommand, UsageError } from "../core/command";
import { containerState, docker, RunResult, STOP_GRACE_SECONDS } from "../core/docker";
import { onInterrupt } from "../core/interrupt";
import { HookError, log, parseOptions, runOperation } from "../core/report";
import { pollMs } from "../core/settings";

const USAGE = `usage: upshift mongo-fcv --image IMG --db-dir DIR --configdb-dir DIR --fcv X.Y [--shell mongo|mongosh] [--timeout SECONDS]
  Runs IMG (e.g. mongo:4.0.27) on DIR (host paths of /data/db and /data/configdb) in a temporary
  container without network, waits for it to answer ping, runs
  db.adminCommand({setFeatureCompatibilityVersion: "X.Y"}), requires { ok: 1 }, checks the FCV reads
  back as X.Y, then stops and removes the container (always). --shell: mongo (<= 5.0, default) or mongosh.`;

const OPTIONS = {
    image: { type: "string" },
    "db-dir": { type: "string" },
    "configdb-dir": { type: "string" },
    fcv: { type: "string" },
    shell: { type: "string", default: "mongo" },
    timeout: { type: "string", default: "300" },
} as const;

export interface MongoAnswer {
    readonly ok?: number;
    readonly errmsg?: string;
    readonly [k: string]: unknown;
}

/** The last line of a shell's output that parses as a JSON object (the shell may print banners first). */
export function parseMongoAnswer(stdout: string): MongoAnswer | undefined {
    const lines = stdout.trim().split("\n").reverse();
    for (const l of lines) {
        const t = l.trim();
        if (!t.startsWith("{")) continue;
        try {
            return JSON.parse(t) as MongoAnswer;
        } catch {
            /* not JSON: try the line before */
        }
    }
    return undefined;
}

/** `shell --quiet --eval 'print(JSON.stringify(db.adminCommand(cmd)))'`: works in the legacy shell and mongosh. */
export function adminEval(shell: string, command: string): string[] {
    return [shell, "--quiet", "--eval", `print(JSON.stringify(db.adminCommand(${command})))`];
}

/** The temporary container's name: stable per data dir, so a rerun finds and removes a leftover. */
export function fcvContainerName(dbDir: string): string {
    return `upshift-mongo-fcv-${crypto.createHash("sha256").update(dbDir).digest("hex").slice(0, 12)}`;
}

export const mongoFcv: HookCommand = {
    name: "mongo-fcv",
    summary: "run a given mongo on a data dir, set featureCompatibilityVersion, check { ok: 1 }, stop it",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, OPTIONS);
        const image = values.image,
            db = values["db-dir"],
            configdb = values["configdb-dir"],
            fcv = values.fcv;
        if (!image || !db || !configdb || !fcv)
            throw new UsageError("--image, --db-dir, --configdb-dir and --fcv are required");
        if (!/^\d+\.\d+$/.test(fcv)) throw new UsageError(`--fcv ${fcv} must be a major.minor like 4.2`);
        for (const [k, p] of [
            ["db-dir", db],
            ["configdb-dir", configdb],
        ])
            if (!p.startsWith("/")) throw new UsageError(`--${k} ${p} must be an absolute path on the Docker host`);
        if (values.shell !== "mongo" && values.shell !== "mongosh")
            throw new UsageError(`--shell ${values.shell} must be mongo or mongosh`);
        const timeout = Number(values.timeout);
        if (!Number.isFinite(timeout) || timeout <= 0)
            throw new UsageError(`--timeout ${values.timeout} must be a number of seconds`);
        return runOperation("mongo-fcv", () =>
            raiseFeatureCompatibility({ image, db, configdb, fcv, shell: values.shell!, timeoutS: timeout }),
        );
    },
};

interface FcvArgs {
    image: string;
    db: string;
    configdb: string;
    fcv: string;
    shell: string;
    timeoutS: number;
}

async function raiseFeatureCompatibility(a: FcvArgs): Promise<Record<string, unknown>> {
    const name = fcvContainerName(a.db);
    // A leftover of a killed run would hold the data dir's lock: shut down cleanly first, never
    // `rm -f` (SIGKILL) a mongod mid-write on the copy (issue 12, suspected defects).
    await docker(["stop", "--time", String(STOP_GRACE_SECONDS), name], { check: false });
    await docker(["rm", "-f", name], { check: false });
    // Interrupted: mongod gets SIGTERM and a few seconds (the clean-up budget); the next run removes it.
    const unregister = onInterrupt(async () => {
        await docker(["stop", "--time", "3", name], { check: false });
    });
    try {
        log("mongo-fcv", `starting ${a.image} on ${a.db} as ${name}`);
        // As the vendor guide's `docker run -id -v .../db:/data/db -v .../configdb:/data/configdb mongo:X`,
        // without a network (only docker exec talks to it) and labelled as ours.
        await docker([
            "run",
            "-d",
            "--name",
            name,
            "--label",
            "upshift.helper=true",
            "--network",
            "none",
            "-v",
            `${a.db}:/data/db`,
            "-v",
            `${a.configdb}:/data/configdb`,
            a.image,
        ]);
        await waitForPing(name, a);
        const majorMongo = Number(/:(\d+)/.exec(a.image)?.[1] ?? "0");
        // Mongo 7.0 asks for an explicit confirmation of an FCV change.
        const cmd = `{setFeatureCompatibilityVersion: "${a.fcv}"${majorMongo >= 7 ? ", confirm: true" : ""}}`;
        log("mongo-fcv", `db.adminCommand(${cmd})`);
        const set = parseMongoAnswer((await exec(name, adminEval(a.shell, cmd))).stdout);
        if (!set || set.ok !== 1) {
            throw new HookError(
                `setFeatureCompatibilityVersion "${a.fcv}" on ${a.image} did not answer { ok: 1 }: ${JSON.stringify(set ?? "no answer")}; the data in ${a.db} is left at its previous FCV`,
            );
        }
        const got = parseMongoAnswer(
            (await exec(name, adminEval(a.shell, "{getParameter: 1, featureCompatibilityVersion: 1}"))).stdout,
        );
        const version = (got?.featureCompatibilityVersion as { version?: string } | undefined)?.version;
        if (got?.ok !== 1 || version !== a.fcv)
            throw new HookError(
                `featureCompatibilityVersion reads back as ${JSON.stringify(version ?? got)}, expected ${a.fcv}`,
            );
        log("mongo-fcv", `featureCompatibilityVersion is ${version}`);
        return { image: a.image, db: a.db, fcv: version };
    } finally {
        // Always: a clean shutdown first (the data must not need recovery), then removal.
        unregister();
        await docker(["stop", "--time", String(STOP_GRACE_SECONDS), name], { check: false });
        await docker(["rm", "-f", name], { check: false });
    }
}

async function exec(name: string, cmd: string[]): Promise<RunResult> {
    const r = await docker(["exec", name, ...cmd], { check: false, timeoutMs: 120_000 });
    if (r.code !== 0)
        throw new HookError(
            `${cmd[0]} in ${name} failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`,
        );
    return r;
}

async function waitForPing(name: string, a: FcvArgs): Promise<void> {
    const until = Date.now() + a.timeoutS * 1000;
    for (;;) {
        const st = await containerState(name);
        if (!st || st.status !== "running") {
            // e.g. exit 62: the data's FCV is more than one major below this mongo (clearml-server#267).
            const logs = await docker(["logs", "--tail", "20", name], { check: false });
            throw new HookError(
                `${a.image} stopped before answering (${st?.status ?? "gone"}): ${(logs.stdout + logs.stderr).trim().split("\n").slice(-5).join(" | ")}`,
            );
        }
        const r = await docker(["exec", name, ...adminEval(a.shell, "{ping: 1}")], { check: false, timeoutMs: 30_000 });
        if (r.code === 0 && parseMongoAnswer(r.stdout)?.ok === 1) return;
        if (Date.now() > until) throw new HookError(`${a.image} on ${a.db} did not answer ping within ${a.timeoutS} s`);
        await new Promise((res) => setTimeout(res, pollMs(1000)));
    }
}
