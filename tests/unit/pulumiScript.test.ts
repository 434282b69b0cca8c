// scripts/pulumi.sh without the CLI and without Go: one line naming the official install page.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

describe("npm run pulumi (scripts/pulumi.sh)", () => {
    it("with neither a pinned build, a pulumi to use nor Go, says in one line where to install the CLI", function () {
        const bare = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-bare-path-"));
        const cache = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-empty-cache-"));
        try {
            // A PATH with the basic tools only: no go, no pulumi.
            for (const tool of ["bash", "awk", "cat", "sha256sum", "cut", "dirname", "mkdir"]) {
                const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
                fs.symlinkSync(found, path.join(bare, tool));
            }
            const r = spawnSync(
                path.join(bare, "bash"),
                [path.join(__dirname, "..", "..", "scripts", "pulumi.sh"), "version"],
                {
                    encoding: "utf8",
                    env: { PATH: bare, HOME: cache, UPSHIFT_TOOLS_CACHE: cache, UPSHIFT_PULUMI_BUILD: "1" },
                },
            );
            assert.strictEqual(r.status, 127);
            assert.strictEqual(
                r.stderr,
                "The Pulumi CLI is needed and neither it nor Go is installed: install the CLI from https://www.pulumi.com/docs/install/\n",
            );
        } finally {
            fs.rmSync(bare, { recursive: true, force: true });
            fs.rmSync(cache, { recursive: true, force: true });
        }
    });
});
