// Every UPSHIFT_* variable the hooks read (hooks/core/settings.ts): defaults, accepted values, and
// errors that name the variable; nothing else in hooks/ reads one.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    backupStream,
    compression,
    compressWhere,
    pgStartTimeoutMs,
    pollMs,
    progressMs,
    s3EndpointSetting,
    SETTINGS,
    stateDir,
    takeParentPid,
    zstdLevel,
} from "../../hooks/core/settings";

const HOOKS = path.join(__dirname, "..", "..", "hooks");

describe("hooks settings (hooks/core/settings.ts)", () => {
    it("gives the defaults when a variable is unset or empty", () => {
        for (const env of [{}, Object.fromEntries(Object.keys(SETTINGS).map((k) => [k, ""]))]) {
            assert.strictEqual(zstdLevel(env), "-1");
            assert.strictEqual(compression(env), "zstd");
            assert.strictEqual(compressWhere(env), "helper");
            assert.strictEqual(backupStream(env), false);
            assert.strictEqual(pgStartTimeoutMs(env), 600_000);
            assert.strictEqual(progressMs(2000, env), 2000);
            assert.strictEqual(pollMs(5000, env), 5000);
            assert.strictEqual(s3EndpointSetting(env), undefined);
            assert.strictEqual(stateDir({ ...env, XDG_STATE_HOME: "/x" }), "/x/upshift");
        }
    });

    it("takes the values each variable accepts", () => {
        assert.strictEqual(zstdLevel({ UPSHIFT_ZSTD_LEVEL: "19" }), "-19");
        assert.strictEqual(zstdLevel({ UPSHIFT_ZSTD_LEVEL: "fast=4" }), "--fast=4");
        assert.strictEqual(compression({ UPSHIFT_COMPRESSION: "none" }), "none");
        assert.strictEqual(compressWhere({ UPSHIFT_COMPRESS: "host" }), "host");
        assert.strictEqual(backupStream({ UPSHIFT_BACKUP_STREAM: "1" }), true);
        assert.strictEqual(pgStartTimeoutMs({ UPSHIFT_PG_START_TIMEOUT: "2.5" }), 2500);
        assert.strictEqual(progressMs(2000, { UPSHIFT_PROGRESS_MS: "100" }), 100);
        assert.strictEqual(pollMs(1000, { UPSHIFT_POLL_MS: "10" }), 10);
        assert.strictEqual(stateDir({ UPSHIFT_STATE_DIR: "/s", XDG_STATE_HOME: "/x" }), "/s");
        assert.strictEqual(
            s3EndpointSetting({ UPSHIFT_S3_ENDPOINT: "http://127.0.0.1:9000" }),
            "http://127.0.0.1:9000",
        );
    });

    it("refuses a value it does not accept, naming the variable, what it takes and the default", () => {
        const cases: [() => unknown, RegExp][] = [
            [
                () => zstdLevel({ UPSHIFT_ZSTD_LEVEL: "22" }),
                /^UPSHIFT_ZSTD_LEVEL=22: expected a level 1-19 or fast=N \(1-99\); unset it for the default/,
            ],
            [() => compression({ UPSHIFT_COMPRESSION: "gzip" }), /^UPSHIFT_COMPRESSION=gzip: expected zstd or none;/],
            [() => compressWhere({ UPSHIFT_COMPRESS: "remote" }), /^UPSHIFT_COMPRESS=remote: expected helper or host;/],
            [() => backupStream({ UPSHIFT_BACKUP_STREAM: "yes" }), /^UPSHIFT_BACKUP_STREAM=yes: expected 1 or 0;/],
            [
                () => pgStartTimeoutMs({ UPSHIFT_PG_START_TIMEOUT: "-1" }),
                /^UPSHIFT_PG_START_TIMEOUT=-1: expected a positive number of seconds;/,
            ],
            [
                () => progressMs(2000, { UPSHIFT_PROGRESS_MS: "fast" }),
                /^UPSHIFT_PROGRESS_MS=fast: expected a positive number of milliseconds;/,
            ],
            [
                () => pollMs(1000, { UPSHIFT_POLL_MS: "0" }),
                /^UPSHIFT_POLL_MS=0: expected a positive number of milliseconds;/,
            ],
            [() => takeParentPid({ UPSHIFT_PARENT_PID: "x" }), /^UPSHIFT_PARENT_PID=x: expected a process id;/],
        ];
        for (const [f, re] of cases)
            assert.throws(f, (e: Error) => re.test(e.message) || assert.fail(`${e.message} does not match ${re}`));
    });

    it("takes the parent pid out of the environment it read it from", () => {
        const env: NodeJS.ProcessEnv = { UPSHIFT_PARENT_PID: "4242" };
        assert.strictEqual(takeParentPid(env), 4242);
        assert.strictEqual("UPSHIFT_PARENT_PID" in env, false);
        assert.strictEqual(takeParentPid(env), undefined);
    });

    it("is the only place in hooks/ that reads an UPSHIFT_* variable, and lists every one it reads", () => {
        const readers: string[] = [];
        for (const f of (fs.readdirSync(HOOKS, { recursive: true }) as string[]).filter((x) => x.endsWith(".ts"))) {
            const text = fs.readFileSync(path.join(HOOKS, f), "utf8");
            if (f !== path.join("core", "settings.ts") && /env(?:\.|\[")UPSHIFT_/.test(text)) readers.push(f);
        }
        assert.deepStrictEqual(readers, []);
        const settings = fs.readFileSync(path.join(HOOKS, "core", "settings.ts"), "utf8");
        const read = [
            ...settings.matchAll(/raw\(env, "(UPSHIFT_[A-Z0-9_]+)"\)|positive\(env, "(UPSHIFT_[A-Z0-9_]+)"/g),
        ].map((m) => m[1] ?? m[2]);
        assert.ok(read.length >= 10, `only ${read.length} reads found`);
        assert.deepStrictEqual(
            [...new Set(read)].filter((k) => !(k in SETTINGS)),
            [],
        );
    });

    it("docs/hooks-cli.md names every variable", () => {
        const doc = fs.readFileSync(path.join(HOOKS, "..", "docs", "hooks-cli.md"), "utf8");
        assert.deepStrictEqual(
            Object.keys(SETTINGS).filter((k) => !doc.includes(k)),
            [],
        );
    });
});
