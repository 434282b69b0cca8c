// The e2e suite's harness: the REAL Pulumi CLI and Node.js language host (built from pinned Go
// modules by scripts/pulumi.sh), a file backend and passphrase in a temporary directory, the real
// Docker engine, and STAND-IN docker and command provider plugins (tests/e2e/standins/README.md:
// the real ones cannot be built here). The project is this checkout itself: its Pulumi.yaml, its
// program; only the stack's config file lives in the temporary directory (--config-file).
import * as assert from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dk } from "../integration/pg-helpers";
import { TEST_IMAGES } from "../integration/setup";

// `docker ...` on the test engine (DOCKER_HOST is set by the integration setup), as the integration tests run it.
export { dk, dkQuiet } from "../integration/pg-helpers";

export const ROOT = path.join(__dirname, "..", "..");
const STANDINS = path.join(__dirname, "standins");

let binDir: string | undefined;
/** The pinned CLI's directory; built on first use (minutes, cold). Fails loudly, never skips. */
export function pulumiBinDir(): string {
    if (binDir) return binDir;
    const started = Date.now();
    try {
        binDir = execFileSync("bash", [path.join(ROOT, "scripts", "pulumi.sh"), "--print-bin-dir"], {
            encoding: "utf8",
            env: { ...process.env, UPSHIFT_PULUMI_BUILD: "1" },
            stdio: ["ignore", "pipe", "inherit"],
        }).trim();
    } catch (e) {
        throw new Error(
            `the Pulumi CLI could not be built for the e2e tests (scripts/pulumi.sh): ${(e as Error).message}`,
        );
    }
    const s = (Date.now() - started) / 1000;
    if (s > 5) console.log(`      built the Pulumi CLI in ${s.toFixed(0)} s`);
    return binDir;
}

export interface Run {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    seconds: number;
}

/** The app stand-in image under one tag per vendor release it plays (distinct ids, so the engine replaces on an upgrade). */
export const standin = (tag: string) => `upshift-test/app-standin:${tag}`;

/** `cvat:images`: every vendor image of 2.2.0 and 2.3.0 mapped to a local one (nothing can be pulled here). */
export const CVAT_IMAGES: Record<string, string> = {
    "postgres:10-alpine": TEST_IMAGES.pg15, // Postgres 15 plays CVAT 2.2.0's 10 ...
    "postgres:15-alpine": TEST_IMAGES.pg17, // ... and 17 plays 2.3.0's 15, as in the integration tests
    "cvat/server:v2.2.0": standin("cvat-2.2.0"),
    "cvat/ui:v2.2.0": standin("cvat-2.2.0"),
    "traefik:v2.4": standin("cvat-2.2.0"),
    "cvat/server:v2.3.0": standin("cvat-2.3.0"),
    "cvat/ui:v2.3.0": standin("cvat-2.3.0"),
    "traefik:v2.9": standin("cvat-2.3.0"),
    "openpolicyagent/opa:0.34.2-rootless": standin("static"),
    "redis:4.0-alpine": standin("static"),
};

/**
 * Builds the app stand-in image (tests/e2e/standins/app-standin.sh) from the tools image (no
 * registry) under each tag, once per recipe.
 */
export function buildStandins(tags: string[]): void {
    const script = fs.readFileSync(path.join(STANDINS, "app-standin.sh"));
    const recipe = crypto.createHash("sha256").update(script).digest("hex").slice(0, 12);
    for (const tag of tags) {
        const image = standin(tag);
        const have = execFileSync(
            "docker",
            ["image", "ls", "-q", "--filter", `label=upshift.standin.recipe=${recipe}`, image],
            { encoding: "utf8" },
        ).trim();
        if (have) continue;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-standin-"));
        fs.mkdirSync(path.join(dir, "usr", "local", "bin"), { recursive: true });
        fs.mkdirSync(path.join(dir, "kaiwudb", "bin"), { recursive: true });
        fs.writeFileSync(path.join(dir, "usr", "local", "bin", "app-standin"), script, { mode: 0o755 });
        for (const alias of ["python3", "python", "mongo", "mongosh", "curl", "redis-cli", "kwbase"])
            fs.symlinkSync("app-standin", path.join(dir, "usr", "local", "bin", alias));
        fs.symlinkSync("/usr/local/bin/app-standin", path.join(dir, "kaiwudb", "bin", "kwbase"));
        const box = `upshift-standin-build-${process.pid}`;
        execFileSync("docker", ["create", "--name", box, TEST_IMAGES.tools, "true"], { stdio: "ignore" });
        try {
            execFileSync("sh", ["-c", `tar -C '${dir}' -c . | docker cp - ${box}:/`], { stdio: "inherit" });
            execFileSync(
                "docker",
                [
                    "commit",
                    "--change",
                    'ENTRYPOINT ["/usr/local/bin/app-standin"]',
                    "--change",
                    "CMD []",
                    "--change",
                    `LABEL upshift.standin.recipe=${recipe} upshift.standin.tag=${tag}`,
                    box,
                    image,
                ],
                { stdio: "ignore" },
            );
        } finally {
            execFileSync("docker", ["rm", "-f", box], { stdio: "ignore" });
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
}

/** One stack of this project on a file backend in a temporary directory. */
export class E2EStack {
    readonly dir: string;
    readonly configFile: string;
    readonly backupDir: string;
    private readonly home: string;
    private readonly state: string;
    private salt = "";

    constructor(readonly stack: string) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `upshift-e2e-${stack}-`));
        this.home = path.join(this.dir, "pulumi-home");
        this.state = path.join(this.dir, "state");
        this.backupDir = path.join(this.dir, "backups");
        this.configFile = path.join(this.dir, `Pulumi.${stack}.yaml`);
        fs.mkdirSync(this.state);
    }

    env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
        return {
            ...process.env,
            PATH: `${pulumiBinDir()}:${process.env.PATH}`,
            PULUMI_HOME: this.home,
            PULUMI_BACKEND_URL: `file://${this.state}`,
            PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            // No plugin is downloaded: the stand-ins are installed, the AWS plugin is absent on purpose.
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
            UPSHIFT_REPO: ROOT,
            // The hooks' ledger of stopped containers (hooks/core/stop-restart.ts): one per stack under test.
            UPSHIFT_STATE_DIR: path.join(this.dir, "upshift-state"),
            ...extra,
        };
    }

    /** Runs `pulumi ARGS` in the project dir; throws with the output unless it exits 0 (or `allowFail`). */
    async pulumi(
        args: string[],
        opts: { allowFail?: boolean; env?: NodeJS.ProcessEnv; onStart?: (p: ChildProcess) => void } = {},
    ): Promise<Run> {
        const started = Date.now();
        const child = spawn("pulumi", args, {
            cwd: ROOT,
            env: this.env(opts.env),
            stdio: ["ignore", "pipe", "pipe"],
            detached: true,
        });
        let stdout = "",
            stderr = "";
        child.stdout!.on("data", (d: Buffer) => {
            stdout += d.toString();
        });
        child.stderr!.on("data", (d: Buffer) => {
            stderr += d.toString();
        });
        opts.onStart?.(child);
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
            child.on("close", (c, s) => resolve([c, s])),
        );
        const run = { code, signal, stdout, stderr, seconds: (Date.now() - started) / 1000 };
        if (!opts.allowFail && code !== 0) {
            // The engine's Diagnostics section holds the errors; the tail holds the summary.
            const diag = stdout.includes("Diagnostics:")
                ? stdout.slice(stdout.indexOf("Diagnostics:")).split(/\n(?:Outputs|Resources):/)[0]
                : "";
            throw new Error(
                `pulumi ${args.join(" ")} exited ${code ?? signal}:\n${diag.slice(0, 8000)}\n...\n${stdout.slice(-2000)}\n${stderr.slice(-3000)}`,
            );
        }
        return run;
    }

    /** Stack commands get --stack and the temporary config file. */
    stackArgs(...args: string[]): string[] {
        return [...args, "--stack", this.stack, "--config-file", this.configFile, "--non-interactive"];
    }

    async init(): Promise<void> {
        await this.pulumi(["login", `file://${this.state}`]);
        // `stack init` writes the passphrase's salt into stacks/Pulumi.<stack>.yaml (no --config-file
        // there): it moves to the temporary config file, and the checkout stays clean.
        const inCheckout = path.join(ROOT, "stacks", `Pulumi.${this.stack}.yaml`);
        if (fs.existsSync(inCheckout))
            throw new Error(`${inCheckout} exists: the e2e suite would overwrite a real stack's config`);
        await this.pulumi(["stack", "init", this.stack, "--non-interactive"]);
        this.salt = fs.readFileSync(inCheckout, "utf8").trim();
        fs.rmSync(inCheckout);
        for (const [name, version] of [
            ["docker", "5.2.0"],
            ["command", "1.2.1"],
        ]) {
            await this.pulumi([
                "plugin",
                "install",
                "resource",
                name,
                version,
                "--file",
                path.join(STANDINS, `pulumi-resource-${name}`),
            ]);
        }
    }

    /** Writes the stack's config file: the salt from `stack init`, then these lines (YAML under `config:`). */
    writeConfig(lines: string[]): void {
        fs.writeFileSync(this.configFile, [this.salt, "config:", ...lines.map((l) => `  ${l}`), ""].join("\n"));
    }

    async config(key: string, value: string, opts: { secret?: boolean; path?: boolean } = {}): Promise<void> {
        await this.pulumi(
            this.stackArgs(
                "config",
                "set",
                ...(opts.secret ? ["--secret"] : []),
                ...(opts.path ? ["--path"] : []),
                key,
                value,
            ),
        );
    }

    up(
        opts: {
            allowFail?: boolean;
            env?: NodeJS.ProcessEnv;
            onStart?: (p: ChildProcess) => void;
            extra?: string[];
        } = {},
    ): Promise<Run> {
        return this.pulumi(
            this.stackArgs("up", "--yes", "--skip-preview", "--suppress-progress", ...(opts.extra ?? [])),
            opts,
        );
    }

    preview(extra: string[] = [], opts: { allowFail?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
        return this.pulumi(this.stackArgs("preview", "--suppress-progress", ...extra), opts);
    }

    async outputs(): Promise<Record<string, unknown>> {
        const r = await this.pulumi(["stack", "output", "--json", "--show-secrets", "--stack", this.stack]);
        return JSON.parse(r.stdout) as Record<string, unknown>;
    }

    /** The stack's state as the engine saved it (`pulumi stack export`). */
    async exported(): Promise<{
        deployment: {
            resources?: { urn: string; type: string; outputs?: Record<string, unknown> }[];
            pending_operations?: unknown[];
        };
    }> {
        const r = await this.pulumi(["stack", "export", "--stack", this.stack]);
        return JSON.parse(r.stdout);
    }

    /**
     * Imports a state whose only resource is the stack, with `deployed` = `record`: what a stack
     * that ran `from` looks like to the program's StackReference (used where the product's
     * containers cannot start here, to preview an upgrade from it).
     */
    async importDeployed(record: Record<string, unknown>): Promise<void> {
        const exported = (await this.exported()) as unknown as { version: number; deployment: Record<string, unknown> };
        exported.deployment.resources = [
            {
                urn: `urn:pulumi:${this.stack}::upshift::pulumi:pulumi:Stack::upshift-${this.stack}`,
                custom: false,
                type: "pulumi:pulumi:Stack",
                outputs: { deployed: record },
            },
        ];
        const file = path.join(this.dir, "import.json");
        fs.writeFileSync(file, JSON.stringify(exported));
        await this.pulumi(["stack", "import", "--file", file, "--stack", this.stack]);
    }

    /** After a suite: unprotect and destroy (the containers go, the retained volumes stay); failures are not the suite's result. */
    async teardown(): Promise<void> {
        await this.pulumi(["state", "unprotect", "--all", "--yes", "--stack", this.stack], { allowFail: true });
        await this.pulumi(this.stackArgs("destroy", "--yes", "--suppress-progress"), { allowFail: true });
    }

    cleanup(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

export function running(name: string): { status: string; health: string } | undefined {
    try {
        const [status, health = ""] = dk([
            "inspect",
            "-f",
            "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
            name,
        ])
            .trim()
            .split(/\s+/);
        return { status, health };
    } catch {
        return undefined;
    }
}

/** Fails unless every named container runs (and is healthy where it has a healthcheck). */
export function assertAllServing(names: string[]): void {
    for (const n of names) {
        const st = running(n);
        assert.ok(st, `${n} exists`);
        assert.strictEqual(st.status, "running", `${n} is running`);
        assert.ok(st.health === "" || st.health === "healthy", `${n} is healthy (${st.health})`);
    }
}

/** assertAllServing once every healthcheck has had its first run (a container started again reports `starting` until then). */
export async function waitAllServing(names: string[], timeoutMs = 120000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (
        Date.now() < until &&
        !names.every((n) => running(n)?.status === "running" && ["", "healthy"].includes(running(n)!.health))
    ) {
        await new Promise((r) => setTimeout(r, 500));
    }
    assertAllServing(names);
}
