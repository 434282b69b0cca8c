// The one place that stops the writers and starts them again (hooks/core/stop-restart.ts): a
// writer that does not start again is named in the step's error, never dropped (issue 14: two of
// the four copies this replaced ignored the result of `docker start`). A fake docker on PATH.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startContainer } from "../../hooks/core/docker";
import { Writers } from "../../hooks/core/stop-restart";

describe("Writers.restartAfter (hooks/core/stop-restart.ts, fake docker)", () => {
    const saved = { ...process.env };
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-writers-"));
        Object.assign(process.env, {
            PATH: `${path.join(__dirname, "fixtures", "writers")}:${saved.PATH}`,
            FAKE_LOG: path.join(dir, "log"),
            UPSHIFT_STATE_DIR: path.join(dir, "state"),
            DOCKER_HOST: "unix:///nonexistent.sock",
        });
    });
    afterEach(() => {
        for (const k of ["PATH", "FAKE_LOG", "UPSHIFT_STATE_DIR", "DOCKER_HOST", "FAKE_NO_START"]) {
            if (saved[k] === undefined) delete process.env[k];
            else process.env[k] = saved[k];
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });
    const log = () => fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n");

    it("starts every writer again and returns the step's own error when all start", async () => {
        const w = new Writers("pg-dump", ["app", "worker"]);
        await w.stop();
        const e = new Error("dump failed");
        assert.strictEqual(await w.restartAfter(e), e);
        assert.strictEqual(e.message, "dump failed");
        assert.deepStrictEqual(
            log()
                .filter((l) => /^(stop|start) /.test(l))
                .map((l) => l.replace(/--time \d+ /, ""))
                .sort(),
            ["start app", "start worker", "stop app", "stop worker"],
        );
    });

    it("names a writer that did not start again in the error, with the daemon's reason, and keeps it on the ledger", async () => {
        process.env.FAKE_NO_START = "worker";
        const w = new Writers("pg-migrate", ["app", "worker"]);
        await w.stop();
        const e = (await w.restartAfter(new Error("pg_upgrade failed"))) as Error;
        assert.match(
            e.message,
            /^pg_upgrade failed; these containers could not be started again: worker \(.*port is already allocated\); start them by hand$/,
        );
        const ledger = JSON.parse(fs.readFileSync(path.join(dir, "state", "stopped.json"), "utf8")) as Record<
            string,
            unknown
        >;
        // Keyed by Docker host and name.
        assert.deepStrictEqual(Object.keys(ledger), ["unix:///nonexistent.sock worker"]);
    });

    it("startContainer resolves to undefined once started and to the daemon's reason when not, without throwing", async () => {
        process.env.FAKE_NO_START = "worker";
        assert.strictEqual(await startContainer("app"), undefined);
        assert.match(
            (await startContainer("worker"))!,
            /^Error response from daemon: cannot start worker: port is already allocated$/,
        );
    });

    it("every `docker start` of hooks/ is core/docker.ts startContainer (whose result each caller reports)", () => {
        const hooks = path.join(__dirname, "..", "..", "hooks");
        const others = (fs.readdirSync(hooks, { recursive: true }) as string[])
            .filter((f) => f.endsWith(".ts") && f !== path.join("core", "docker.ts"))
            .filter((f) => /\[\s*"start"/.test(fs.readFileSync(path.join(hooks, f), "utf8")));
        assert.deepStrictEqual(others, []);
        // The scan itself finds one: the definition.
        assert.match(fs.readFileSync(path.join(hooks, "core", "docker.ts"), "utf8"), /\[\s*"start"/);
    });
});
