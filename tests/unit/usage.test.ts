// Every operation's usage (bin/upshift OP --help, and after a usage error) says how to call it and
// what its exit codes mean (hooks/core/command.ts EXIT_STATUS; issue 14).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { OPERATIONS } from "../../hooks/cli";
import { EXIT_STATUS, UsageError } from "../../hooks/core/command";
import { requireFlags } from "../../hooks/core/report";

const CLI = path.join(__dirname, "..", "..", "bin", "upshift");
const run = (args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], {
        encoding: "utf8",
        env: { ...process.env, DOCKER_HOST: "unix:///nonexistent.sock" },
    });

describe("usage texts (bin/upshift OP --help)", () => {
    it("every operation's help starts with its usage line and ends with the exit codes", function () {
        this.timeout(60000);
        assert.ok(Object.keys(OPERATIONS).length >= 20);
        for (const op of Object.keys(OPERATIONS)) {
            const r = run([op, "--help"]);
            assert.strictEqual(r.status, 0, `${op}: ${r.stderr}`);
            assert.match(r.stdout, new RegExp(`^usage: upshift ${op} `), op);
            assert.ok(
                r.stdout.endsWith(`${EXIT_STATUS}\n`),
                `${op} --help does not end with the exit codes:\n${r.stdout}`,
            );
        }
    });

    it("a usage error prints the usage and the exit codes too, and exits 2", () => {
        const r = run(["backup", "--no-such-flag"]);
        assert.strictEqual(r.status, 2);
        assert.match(r.stderr, /^upshift backup: .*no-such-flag/);
        assert.ok(r.stderr.endsWith(`${EXIT_STATUS}\n`), r.stderr);
        for (const code of ["0 ", "1 ", "2 ", "3 ", "129 130 143 "]) assert.ok(EXIT_STATUS.includes(`  ${code}`), code);
    });

    it("requireFlags: the first missing flag (unset, empty or an empty list) is a usage error naming it and its hint", () => {
        assert.doesNotThrow(() => requireFlags({ a: "x", b: ["y"] }, "a", "b"));
        for (const values of [{ a: "x" }, { a: "x", b: "" }, { a: "x", b: [] }]) {
            assert.throws(
                () => requireFlags(values, "a", "b DIR/P/ID", "c"),
                (e: Error) => e instanceof UsageError && e.message === "--b DIR/P/ID is required",
            );
        }
    });
});
