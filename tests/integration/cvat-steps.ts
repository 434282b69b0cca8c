// Shared by the CVAT integration tests that run the component's own command lines against real
// containers: capturing the steps under Pulumi mocks, running them as the engine would, and
// checking Postgres contents with means of the test's own (not the code under test).
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { dk } from "./pg-helpers";
import { Capture, value } from "../unit/mocks";

export const ROOT = path.join(__dirname, "..", "..");
export const HOOKS = `node ${path.join(ROOT, "bin", "upshift")}`;

/** `sleep infinity` as PID 1 ignores SIGTERM, so every `docker stop` of a backup would wait out its grace. */
export const STANDIN_SCRIPT = "trap 'exit 0' TERM; sleep infinity & wait";

export interface Step {
    name: string;
    create: string;
    env: Record<string, string>;
}

/** Commands in dependency order (a topological sort of the captured dependsOn edges; the steps are a chain). */
export function inDependencyOrder(capture: Capture, names: string[]): string[] {
    const out: string[] = [];
    const left = new Set(names);
    while (left.size) {
        const ready = [...left].filter((n) => ![...capture.dependsTransitively(n)].some((d) => left.has(d)));
        assert.ok(ready.length === 1, `one next step at a time (the steps are a chain), got: ${ready.join(", ")}`);
        out.push(ready[0]);
        left.delete(ready[0]);
    }
    return out;
}

/** The captured Commands as the engine runs them: in order, each environment value resolved (secrets too). */
export async function capturedSteps(capture: Capture, namePrefix: string): Promise<Step[]> {
    const steps: Step[] = [];
    for (const name of inDependencyOrder(
        capture,
        capture.ofType("command:local:Command").map((c) => c.name),
    )) {
        const c = capture.byName(name);
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries((c.props.environment ?? {}) as Record<string, pulumi.Input<string>>))
            env[k] = (await value(v))!;
        steps.push({ name: name.slice(namePrefix.length), create: c.props.create as string, env });
    }
    return steps;
}

/** Runs one step's shell line from the project dir, as the command provider would. */
export function sh(line: string, env: Record<string, string>): string {
    console.log(`      $ ${line.replace(/^node \S+/, "upshift")}`);
    try {
        return execFileSync("sh", ["-c", line], {
            cwd: ROOT,
            env: { ...process.env, ...env },
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            maxBuffer: 16 << 20,
        });
    } catch (e) {
        const x = e as { stdout?: string; stderr?: string };
        throw new Error(`step failed: ${line}\n${x.stderr ?? ""}${x.stdout ?? ""}`);
    }
}

export const psql = (c: string, db: string, sql: string): string =>
    dk(["exec", "-i", c, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", "root", "-d", db], sql).trim();

/** Row count and sha256 of every public table's ordered contents. */
export function digest(c: string, db: string): Record<string, string> {
    const tables = psql(c, db, "SELECT tablename FROM pg_tables WHERE schemaname='public' ORDER BY 1")
        .split("\n")
        .filter(Boolean);
    const out: Record<string, string> = {};
    for (const t of tables) {
        const rows = psql(c, db, `SELECT count(*) FROM ${t}`);
        const text = dk([
            "exec",
            c,
            "psql",
            "-X",
            "-q",
            "-U",
            "root",
            "-d",
            db,
            "-c",
            `COPY (SELECT * FROM ${t} ORDER BY 1) TO STDOUT`,
        ]);
        out[t] = `${rows}:${crypto.createHash("sha256").update(text).digest("hex")}`;
    }
    return out;
}

/** The DB's healthcheck, as catalog/cvat.ts declares it (TCP, not the init server's socket). */
export async function waitReady(c: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
        try {
            dk(["exec", c, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "root", "-d", "cvat"]);
            return;
        } catch {
            await new Promise((r) => setTimeout(r, 300));
        }
    }
    throw new Error(`${c} did not become ready: ${dk(["logs", "--tail", "20", c])}`);
}

/** A CVAT-style cvat_db: user root, database cvat, the password only in the environment. */
export function runPg(name: string, image: string, volume: string, password: string): void {
    execFileSync(
        "docker",
        [
            "run",
            "-d",
            "--name",
            name,
            "-e",
            "POSTGRES_USER=root",
            "-e",
            "POSTGRES_DB=cvat",
            "-e",
            "POSTGRES_PASSWORD",
            "-v",
            `${volume}:/var/lib/postgresql/data`,
            image,
        ],
        { env: { ...process.env, POSTGRES_PASSWORD: password }, stdio: ["ignore", "ignore", "pipe"] },
    );
}

/** Stand-ins for CVAT's app containers (preflight checks they exist; backup and dump stop them). */
export function startStandIns(
    names: string[],
    volumes: { cvat_data: string; cvat_keys: string; cvat_logs: string },
    image: string,
): void {
    for (const s of names) {
        dk([
            "run",
            "-d",
            "--name",
            s,
            "-v",
            `${volumes.cvat_data}:/home/django/data`,
            "-v",
            `${volumes.cvat_keys}:/home/django/keys`,
            "-v",
            `${volumes.cvat_logs}:/home/django/logs`,
            image,
            "sh",
            "-c",
            STANDIN_SCRIPT,
        ]);
    }
}
