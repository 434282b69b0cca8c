// `upshift pg-analyze` refuses malformed arguments with exit 2 and its usage before Docker is
// called (as tests/unit/cliBadInput.test.ts does for every operation), and with --work it decides
// from pg-migrate's state files alone whether there is anything to do.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const CLI = path.join(__dirname, "..", "..", "bin", "upshift");
const NO_DOCKER = path.join(__dirname, "fixtures", "no-docker");

describe("upshift pg-analyze", function () {
    this.timeout(60000);
    let dir: string;
    let log: string;
    const cli = (argv: string[]) =>
        spawnSync(process.execPath, [CLI, "pg-analyze", ...argv], {
            encoding: "utf8",
            env: {
                ...process.env,
                PATH: `${NO_DOCKER}:${process.env.PATH}`,
                NO_DOCKER_LOG: log,
                UPSHIFT_STATE_DIR: path.join(dir, "state"),
            },
        });
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-pg-analyze-"));
        log = path.join(dir, "docker-calls.log");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const c of [
        { argv: [], says: /--container is required/ },
        { argv: ["--container", "db", "--jobs", "0"], says: /--jobs 0: expected a positive integer/ },
        { argv: ["--container", "db", "--jobs", "two"], says: /--jobs two: expected a positive integer/ },
        { argv: ["--container", "db", "--work="], says: /--work DIR: expected a directory/ },
        { argv: ["--container", "db", "--bogus"], says: /--bogus/ },
    ]) {
        it(`refuses ${c.argv.join(" ") || "no arguments"} with exit 2, before Docker`, () => {
            const r = cli(c.argv);
            assert.strictEqual(r.status, 2, r.stderr);
            assert.match(r.stderr, c.says);
            assert.match(r.stderr, /usage: upshift pg-analyze/);
            assert.ok(!fs.existsSync(log), "docker was called");
        });
    }

    it("after pg-migrate's dump/restore (it analyzed), or a pg_upgrade that analyzed, does nothing and says why", () => {
        fs.writeFileSync(path.join(dir, "migrate-state.json"), JSON.stringify({ state: "done", result: {} }));
        let r = cli(["--container", "db", "--work", dir]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(JSON.parse(r.stdout).skipped, /dump\/restore, which analyzed every database/);
        fs.writeFileSync(
            path.join(dir, "upgrade-state.json"),
            JSON.stringify({ state: "done", result: { analyzed: true } }),
        );
        r = cli(["--container", "db", "--work", dir]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(JSON.parse(r.stdout).skipped, /analyzed the new cluster itself/);
        assert.ok(!fs.existsSync(log), "docker was called");
    });

    it("without a finished pg-migrate in --work it fails (exit 1) and touches nothing", () => {
        fs.writeFileSync(path.join(dir, "upgrade-state.json"), JSON.stringify({ state: "verifying" }));
        const r = cli(["--container", "db", "--work", dir]);
        assert.strictEqual(r.status, 1, r.stderr);
        assert.match(r.stderr, /no finished pg-migrate in .*: run the pg-migrate step first/);
        assert.ok(!fs.existsSync(log), "docker was called");
    });
});
