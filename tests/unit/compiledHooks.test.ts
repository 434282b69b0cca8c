// bin/upshift runs the compiled hooks (dist/hooks) and refuses a missing or stale build
// (bin/dist-check.js): checked on a copy of bin/ in a scratch tree, so the checkout is not touched.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.join(__dirname, "..", "..");

describe("compiled hooks CLI (bin/upshift, dist/hooks)", () => {
    let root: string;
    const setTime = (f: string, s: number) => fs.utimesSync(f, s, s);
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-dist-"));
        for (const d of ["bin", "hooks", "dist/hooks"]) fs.mkdirSync(path.join(root, d), { recursive: true });
        for (const f of ["upshift", "dist-check.js"])
            fs.copyFileSync(path.join(REPO, "bin", f), path.join(root, "bin", f));
        for (const f of ["tsconfig.json", "tsconfig.hooks.json"]) {
            fs.writeFileSync(path.join(root, f), "{}");
            setTime(path.join(root, f), 1000);
        }
        fs.writeFileSync(path.join(root, "hooks", "cli.ts"), "// source\n");
        setTime(path.join(root, "hooks", "cli.ts"), 2000);
        fs.writeFileSync(
            path.join(root, "dist", "hooks", "cli.js"),
            "exports.main = async (argv) => { process.stdout.write('compiled ' + argv.join(' ') + '\\n'); return 0; };\n",
        );
        setTime(path.join(root, "dist", "hooks", "cli.js"), 3000);
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
    const cli = (...args: string[]) =>
        spawnSync(process.execPath, [path.join(root, "bin", "upshift"), ...args], { encoding: "utf8" });

    it("runs dist/hooks/cli.js when it is newer than every hooks/*.ts", () => {
        const r = cli("help");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.stdout, "compiled help\n");
    });

    it("refuses a build older than a source, naming the file and `npm run build`", () => {
        setTime(path.join(root, "hooks", "cli.ts"), 4000);
        const r = cli("help");
        assert.strictEqual(r.status, 1);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /hooks\/cli\.ts is newer than dist\/hooks\/cli\.js\): run `npm run build`/);
    });

    it("refuses a missing build of a source (a new hooks/*.ts)", () => {
        fs.writeFileSync(path.join(root, "hooks", "new-op.ts"), "");
        setTime(path.join(root, "hooks", "new-op.ts"), 2000);
        const r = cli("help");
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /dist\/hooks\/new-op\.js is missing/);
    });

    it("refuses a build older than a tsconfig", () => {
        setTime(path.join(root, "tsconfig.hooks.json"), 5000);
        assert.match(cli("help").stderr, /a tsconfig is newer than dist\/hooks\/cli\.js/);
    });

    it("the real checkout's build is current and lists the operations (the test suites build it first)", () => {
        const r = spawnSync(process.execPath, [path.join(REPO, "bin", "upshift"), "help"], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /pg-migrate/);
        const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as {
            scripts: Record<string, string>;
        };
        assert.strictEqual(pkg.scripts.prepare, "npm run build");
        assert.strictEqual(pkg.scripts.build, "tsc -p tsconfig.hooks.json");
    });
});
