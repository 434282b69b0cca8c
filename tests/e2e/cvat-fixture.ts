// The CVAT stack the e2e suites share: its config, its seed data and the test's own means of
// comparing (row digests, media checksums), and clean-up of CVAT's fixed container names.
import { ChildProcess, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cvatCatalog } from "../../catalog/cvat";
import { TEST_IMAGES } from "../integration/setup";
import { CVAT_IMAGES, dk, dkQuiet, E2EStack } from "./harness";

export const PASSWORD = "e2e-Cvat-Db-Secret-4d2a";
export const names = (v: string) => cvatCatalog.services(v).map((s) => s.name);
export const VOLUMES_220 = ["cvat_cvat_data", "cvat_cvat_db", "cvat_cvat_keys", "cvat_cvat_logs"];

export type Deployed = {
    cvat: {
        version: string;
        previous?: string;
        history?: { kind: string; to: string; backups: string[]; archives?: { sha256: string }[] }[];
        restorePoints?: { id: string }[];
    };
};

/** Removes this suite's containers, volumes and network (fixed names: CVAT's own). */
export function tryClean(): void {
    for (const c of new Set([...names("2.2.0"), ...names("2.3.0")])) dkQuiet(["rm", "-f", c]);
    for (const v of dk(["volume", "ls", "-q", "--filter", "name=cvat_cvat_"]).split("\n").filter(Boolean))
        dkQuiet(["volume", "rm", "-f", v]);
    dkQuiet(["network", "rm", "upshift_cvat"]);
}

/** sha256 of every media file (the test's own means, not the code under test). */
export function mediaSums(): string {
    return dk([
        "run",
        "--rm",
        "-v",
        "cvat_cvat_data:/d:ro",
        TEST_IMAGES.tools,
        "sh",
        "-c",
        "cd /d && find . -type f | sort | xargs sha256sum",
    ]);
}

/** A new CVAT 2.2.0 stack on a clean engine: non-secret config as a stack file, the secret through the CLI, as a user does. */
export async function initCvatStack(stack: E2EStack): Promise<void> {
    tryClean();
    await stack.init();
    stack.writeConfig([
        `upshift:backupDir: ${stack.backupDir}`,
        `upshift:helperImage: ${TEST_IMAGES.tools}`,
        // Postgres 15 and 17 binaries in one root (.ci/build-upgrade-image.sh): the Postgres major change runs pg_upgrade.
        `upshift:pgUpgradeImage: ${TEST_IMAGES.pgUpgrade}`,
        "cvat:version: 2.2.0",
        "cvat:images:",
        ...Object.entries(CVAT_IMAGES).map(([k, v]) => `  ${JSON.stringify(k)}: ${v}`),
    ]);
    await stack.config("cvat:dbPassword", PASSWORD, { secret: true });
}

/**
 * Sends `signal` to the CLI's process group once the Postgres major change is under way (the
 * pg_upgrade helper container's `docker run` is on the host's process list), then calls `after`.
 */
export function duringMigration(signal: NodeJS.Signals, after: () => void): (child: ChildProcess) => void {
    return (child) => {
        const poll = setInterval(() => {
            if (!/ --name upshift-pg-upgrade-\S+ /.test(execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" })))
                return;
            clearInterval(poll);
            process.kill(-child.pid!, signal);
            after();
        }, 100);
        child.on("close", () => clearInterval(poll));
    };
}

/** Running containers that mount `volume` (none may run on a half-made new volume). */
export function runningOn(volume: string): string[] {
    return dk(["ps", "--filter", `volume=${volume}`, "--format", "{{.Names}}"])
        .split("\n")
        .filter(Boolean);
}

export const SEED = `
    CREATE TABLE auth_user (id serial PRIMARY KEY, username text UNIQUE NOT NULL, joined timestamptz NOT NULL);
    CREATE TABLE engine_task (id serial PRIMARY KEY, name text, owner_id int REFERENCES auth_user(id), meta jsonb, data bytea);
    CREATE TABLE engine_job (id serial PRIMARY KEY, task_id int REFERENCES engine_task(id), status text, score numeric(10,4));
    CREATE TABLE engine_labeledshape (id bigserial PRIMARY KEY, job_id int REFERENCES engine_job(id), points real[], label text);
    CREATE INDEX ON engine_job (task_id);
    CREATE INDEX ON engine_labeledshape (job_id);
    INSERT INTO auth_user (username, joined) SELECT 'user' || g, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 1000) g;
    INSERT INTO engine_task (name, owner_id, meta, data) SELECT 'task ' || g, 1 + g % 1000, jsonb_build_object('frames', g), decode(md5(g::text), 'hex') FROM generate_series(1, 20000) g;
    INSERT INTO engine_job (task_id, status, score) SELECT 1 + g % 20000, (ARRAY['new','annotation','completed'])[1 + g % 3], g / 7.0 FROM generate_series(1, 60000) g;
    INSERT INTO engine_labeledshape (job_id, points, label) SELECT 1 + g % 60000, ARRAY[g, g + 0.5, g * 2]::real[], 'car' FROM generate_series(1, 80000) g;`;

/**
 * `pulumi up` with the e2e suite's fault injection (standins/docker-fault): the first docker call
 * with `arg` among its arguments runs, then reports a failure. Returns the run and whether it fired.
 */
export async function upWithFault(
    stack: E2EStack,
    arg: string,
): Promise<{ code: number; output: string; fired: boolean }> {
    const faultDir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-fault-"));
    try {
        fs.copyFileSync(path.join(__dirname, "standins", "docker-fault"), path.join(faultDir, "docker"));
        fs.chmodSync(path.join(faultDir, "docker"), 0o755);
        const realDocker = execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();
        const up = await stack.up({
            allowFail: true,
            env: {
                PATH: `${faultDir}:${stack.env().PATH}`,
                UPSHIFT_E2E_REAL_DOCKER: realDocker,
                UPSHIFT_E2E_FAULT_ARG: arg,
                UPSHIFT_E2E_FAULT_MARK: path.join(faultDir, "fired"),
            },
        });
        return {
            code: up.code ?? -1,
            output: up.stdout + up.stderr,
            fired: fs.existsSync(path.join(faultDir, "fired")),
        };
    } finally {
        fs.rmSync(faultDir, { recursive: true, force: true });
    }
}
