// `upshift restore --from-s3` against a REAL S3 server (s3rver, in-process on 127.0.0.1) and the
// real Docker engine: a volume is backed up, pushed, the local copy deleted, and the restore pulls
// it back (every sha256 checked) into a new volume that must equal the source byte for byte.
import * as assert from "assert";
import { promises as fsp } from "fs";
import * as path from "path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { makeS3Client } from "../../hooks/offsite/s3";
import { cleanupDocker, fingerprint, makeData, okJson, runPrefix, tmpDir, upshift, volumeExists } from "./hooks-util";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require("s3rver");

const BUCKET = "upshift-restore-test";

describe("restore --from-s3: back up a real volume, push, delete the local copy, restore from S3 (s3rver on 127.0.0.1)", function () {
    const prefix = runPrefix("rs3");
    const source = `${prefix}-src`;
    let tmp: string;
    let server: { run(): Promise<{ port: number }>; close(): Promise<void> };
    let endpoint: string;
    let env: NodeJS.ProcessEnv;
    const timings: string[] = [];

    before(async function () {
        tmp = tmpDir(prefix);
        server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: path.join(tmp, "s3rver") });
        endpoint = `http://127.0.0.1:${(await server.run()).port}`;
        // Credentials only in the environment of the test and its children; no ~/.aws file is read.
        env = {
            AWS_ACCESS_KEY_ID: "S3RVER",
            AWS_SECRET_ACCESS_KEY: "S3RVER",
            AWS_REGION: "us-east-1",
            AWS_CONFIG_FILE: path.join(tmp, "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, "no-aws-credentials"),
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        };
        const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
        Object.assign(process.env, env);
        try {
            const client = makeS3Client({ endpoint });
            await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
            client.destroy();
        } finally {
            for (const [k, v] of Object.entries(saved)) {
                if (v === undefined) delete process.env[k];
                else process.env[k] = v;
            }
        }
        cleanupDocker(prefix);
        makeData(source, 2000, [24, 8]);
    });

    after(async function () {
        cleanupDocker(prefix);
        await server?.close();
        await fsp.rm(tmp, { recursive: true, force: true });
        console.log(timings.map((t) => `      ${t}`).join("\n"));
    });

    it("restores into a new volume that equals the source byte for byte; a rerun finds the pulled copy and refuses the now non-empty target", async function () {
        const backups = path.join(tmp, "backups");
        const t0 = Date.now();
        okJson(
            await upshift(
                [
                    "backup",
                    "--product",
                    "cvat",
                    "--version",
                    "2.2.0",
                    "--id",
                    "s3-rt",
                    "--to",
                    backups,
                    "--volume",
                    source,
                ],
                env,
            ),
        );
        const dir = path.join(backups, "cvat", "s3-rt");
        const manifest = JSON.parse(await fsp.readFile(path.join(dir, "manifest.json"), "utf8"));
        okJson(
            await upshift(
                [
                    "push",
                    "--backup",
                    dir,
                    "--bucket",
                    BUCKET,
                    "--prefix",
                    "site-a",
                    "--s3-endpoint",
                    endpoint,
                    "--quiet",
                ],
                env,
            ),
        );
        const t1 = Date.now();
        await fsp.rm(dir, { recursive: true });

        const target = `${prefix}-restored`;
        const r = await upshift(
            [
                "restore",
                "--backup",
                dir,
                "--from-s3",
                BUCKET,
                "--prefix",
                "site-a",
                "--s3-endpoint",
                endpoint,
                "--quiet",
                "--volume",
                `${source}=${target}`,
            ],
            env,
        );
        const j = okJson(r);
        const t2 = Date.now();
        assert.deepStrictEqual(j.pulled, {
            bucket: BUCKET,
            key: "site-a/cvat/s3-rt",
            bytes: manifest.archives[0].bytes,
            alreadyPresent: false,
        });
        assert.strictEqual((j.restored as { target: string; created: boolean }[])[0].target, target);
        assert.strictEqual(fingerprint(target), fingerprint(source), "byte for byte, with modes, owners and links");
        // The pulled copy is a whole local backup again, identical to what was pushed.
        assert.deepStrictEqual(JSON.parse(await fsp.readFile(path.join(dir, "manifest.json"), "utf8")), manifest);
        assert.deepStrictEqual((await fsp.readdir(path.join(backups, "cvat"))).sort(), ["s3-rt"], "no .partial left");

        // Again: the local copy is used as is (nothing downloaded), and the target it restored is
        // recognised as done, not redone (changed by issue 12: a rerun refused its own restore).
        const again = await upshift(
            [
                "restore",
                "--backup",
                dir,
                "--from-s3",
                BUCKET,
                "--prefix",
                "site-a",
                "--s3-endpoint",
                endpoint,
                "--quiet",
                "--volume",
                `${source}=${target}`,
            ],
            env,
        );
        const j2 = okJson(again);
        assert.strictEqual((j2.pulled as { alreadyPresent: boolean }).alreadyPresent, true);
        assert.strictEqual((j2.restored as { existing?: boolean }[])[0].existing, true);
        assert.strictEqual(fingerprint(target), fingerprint(source));
        timings.push(
            `backup + push of ${(manifest.archives[0].sourceBytes / 1048576).toFixed(1)} MiB (${manifest.archives[0].files} files, ` +
                `${(manifest.archives[0].bytes / 1048576).toFixed(1)} MiB zstd): ${((t1 - t0) / 1000).toFixed(1)} s; restore --from-s3: ${((t2 - t1) / 1000).toFixed(1)} s`,
        );
        for (const x of [r, again])
            assert.ok(!`${x.stdout}${x.stderr}`.includes("S3RVER"), "no credential in any output");
    });

    it("a corrupted object in S3 fails the restore before any volume is created, and leaves no local copy", async function () {
        const backups = path.join(tmp, "backups-2");
        okJson(
            await upshift(
                [
                    "backup",
                    "--product",
                    "cvat",
                    "--version",
                    "2.2.0",
                    "--id",
                    "s3-bad",
                    "--to",
                    backups,
                    "--volume",
                    source,
                ],
                env,
            ),
        );
        const dir = path.join(backups, "cvat", "s3-bad");
        okJson(await upshift(["push", "--backup", dir, "--bucket", BUCKET, "--s3-endpoint", endpoint, "--quiet"], env));
        await fsp.rm(dir, { recursive: true });
        // Flip bytes in the object as the server stores it (same size: only a hash can tell).
        const obj = path.join(tmp, "s3rver", BUCKET, "cvat", "s3-bad", `${source}.tar.zst._S3rver_object`);
        const fh = await fsp.open(obj, "r+");
        await fh.write(Buffer.from("corrupted!"), 0, 10, 4096);
        await fh.close();

        const target = `${prefix}-never`;
        const r = await upshift(
            [
                "restore",
                "--backup",
                dir,
                "--from-s3",
                BUCKET,
                "--s3-endpoint",
                endpoint,
                "--quiet",
                "--volume",
                `${source}=${target}`,
            ],
            env,
        );
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(r.stderr, /corrupt object s3:\/\/upshift-restore-test\/cvat\/s3-bad\//);
        assert.strictEqual(volumeExists(target), false, "no volume was created");
        assert.deepStrictEqual(
            await fsp.readdir(path.join(backups, "cvat")),
            [],
            "nothing left at the local backup dir",
        );
    });

    it("--prefix without --from-s3 is a usage error (exit 2)", async function () {
        const r = await upshift(
            ["restore", "--backup", path.join(tmp, "x", "cvat", "y"), "--prefix", "p", "--volume", "a=b"],
            env,
        );
        assert.strictEqual(r.code, 2);
        assert.match(r.stderr, /--prefix goes with --from-s3/);
    });
});
