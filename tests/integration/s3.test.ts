// Off-site copies against a REAL S3 server: s3rver (an S3 implementation in Node, storing objects
// as files) run in-process on a random 127.0.0.1 port. Push, pull, list and prune run through the
// hooks CLI (bin/upshift, a child process) as a step or an operator would run them; a few checks
// call hooks/offsite/s3.ts directly to look at the requests (multipart, SHA256 checksum headers).
import * as assert from "assert";
import { execFile } from "child_process";
import { createHash, randomBytes } from "crypto";
import { promises as fsp } from "fs";
import * as os from "os";
import * as path from "path";
import {
    CreateBucketCommand,
    DeleteObjectCommand,
    HeadObjectCommand,
    PutObjectCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { makeS3Client, pushBackup } from "../../hooks/offsite/s3";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require("s3rver");

const ROOT = path.join(__dirname, "..", "..");
const BIN = path.join(ROOT, "bin", "upshift");
const BUCKET = "upshift-backups";
const SECRET = "S3RVER";

interface Cli {
    code: number;
    stdout: string;
    stderr: string;
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Writes `<root>/<product>/<id>/` in the format of docs/hooks-cli.md: archives + manifest.json. */
async function makeBackup(
    root: string,
    product: string,
    id: string,
    opts: { createdAt: string; label?: string; archives?: { name: string; bytes: number }[] },
): Promise<{ dir: string; files: Map<string, Buffer> }> {
    const dir = path.join(root, product, id);
    await fsp.mkdir(dir, { recursive: true });
    const files = new Map<string, Buffer>();
    const archives = [];
    for (const a of opts.archives ?? [{ name: `${product}_data`, bytes: 64 * 1024 }]) {
        const data = randomBytes(a.bytes);
        const file = `${a.name}.tar.zst`;
        await fsp.writeFile(path.join(dir, file), data);
        files.set(file, data);
        archives.push({
            name: a.name,
            source: { type: "volume", name: a.name },
            file,
            bytes: data.length,
            sourceBytes: data.length * 3,
            files: 7,
            sha256: sha(data),
        });
    }
    const manifest = {
        format: "upshift-backup/1",
        id,
        product,
        version: "2.2.0",
        label: opts.label,
        createdAt: opts.createdAt,
        archives,
    };
    await fsp.writeFile(path.join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
    return { dir, files };
}

describe("S3 off-site copies against a real S3 server (s3rver on 127.0.0.1)", function () {
    this.timeout(180_000);
    let tmp: string;
    let storage: string;
    let server: { run(): Promise<{ port: number }>; close(): Promise<void> };
    let endpoint: string;
    let env: NodeJS.ProcessEnv;
    let client: S3Client;
    const saved: Record<string, string | undefined> = {};
    const TEST_ENV: Record<string, string> = {
        AWS_ACCESS_KEY_ID: "S3RVER",
        AWS_SECRET_ACCESS_KEY: SECRET, // s3rver signs with this; we check it never shows up
        AWS_REGION: "us-east-1",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", // Node 20 here; keeps the logs readable
    };
    const outputs: string[] = [];

    async function upshift(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Cli> {
        // Async: the server runs in this process's event loop.
        return new Promise((resolve) => {
            execFile(BIN, args, { env: { ...env, ...extraEnv }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
                outputs.push(stdout, stderr);
                resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
            });
        });
    }
    const jsonLine = (r: Cli) => {
        const lines = r.stdout.trim().split("\n");
        assert.strictEqual(lines.length, 1, `stdout must be one JSON line, got: ${r.stdout}\nstderr: ${r.stderr}`);
        return JSON.parse(lines[0]);
    };
    const objectFile = (key: string) => path.join(storage, BUCKET, `${key}._S3rver_object`);
    const exists = (p: string) =>
        fsp.stat(p).then(
            () => true,
            () => false,
        );
    /** Setup pushes in-process (the CLI path of push is covered by the round-trip test). */
    const pushQuiet = (dir: string, prefix: string) =>
        pushBackup({ target: { client, bucket: BUCKET }, backupDir: dir, prefix, quiet: true });

    before(async () => {
        tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "upshift-s3-"));
        storage = path.join(tmp, "s3rver");
        server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: storage });
        const addr = await server.run();
        endpoint = `http://127.0.0.1:${addr.port}`;
        // Credentials in the test's environment only; no ~/.aws file is consulted.
        env = {
            ...process.env,
            ...TEST_ENV,
            AWS_CONFIG_FILE: path.join(tmp, "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, "no-aws-credentials"),
            AWS_PROFILE: undefined,
        };
        for (const k of [...Object.keys(TEST_ENV), "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"]) {
            saved[k] = process.env[k];
            process.env[k] = env[k];
        }
        client = makeS3Client({ endpoint });
        await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    });

    after(async () => {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
        client?.destroy();
        await server?.close();
        await fsp.rm(tmp, { recursive: true, force: true });
    });

    it("push uploads multipart with SHA256 checksums and our sha256 in metadata; a rerun skips what is there", async () => {
        const src = path.join(tmp, "src-multipart");
        const { dir, files } = await makeBackup(src, "cvat", "mp-1", {
            createdAt: "2026-11-01T12:00:00.000Z",
            archives: [
                { name: "cvat_cvat_db", bytes: 12 * 1024 * 1024 + 123 },
                { name: "cvat_cvat_data", bytes: 1000 },
            ],
        });
        // Look at what goes over the wire: which commands, and the checksum header of each part.
        const seen: { command: string; checksum?: string }[] = [];
        const spy = makeS3Client({ endpoint });
        spy.middlewareStack.add(
            (next, context) => async (args) => {
                const req = args.request as { headers?: Record<string, string> };
                seen.push({ command: String(context.commandName), checksum: req.headers?.["x-amz-checksum-sha256"] });
                return next(args);
            },
            { step: "finalizeRequest", name: "upshiftTestSpy" },
        );
        const r = await pushBackup({
            target: { client: spy, bucket: BUCKET },
            backupDir: dir,
            prefix: "site-a",
            partSize: 5 * 1024 * 1024,
            quiet: true,
        });
        assert.deepStrictEqual([r.uploaded, r.skipped, r.archives], [2, 0, 2]);
        const cmds = seen.map((s) => s.command);
        assert.strictEqual(cmds.filter((c) => c === "CreateMultipartUploadCommand").length, 1, cmds.join(","));
        const parts = seen.filter((s) => s.command === "UploadPartCommand");
        assert.strictEqual(parts.length, 3, "12 MiB in 5 MiB parts");
        for (const p of parts)
            assert.match(p.checksum ?? "", /^[A-Za-z0-9+/]{43}=$/, "each part carries x-amz-checksum-sha256");
        assert.ok(cmds.includes("CompleteMultipartUploadCommand"));
        const small = seen.find((s) => s.command === "PutObjectCommand");
        assert.strictEqual(
            small?.checksum,
            createHash("sha256").update(files.get("cvat_cvat_data.tar.zst")!).digest("base64"),
        );
        assert.strictEqual(cmds[cmds.length - 1], "PutObjectCommand", "manifest uploaded last");

        const head = await client.send(
            new HeadObjectCommand({ Bucket: BUCKET, Key: "site-a/cvat/mp-1/cvat_cvat_db.tar.zst" }),
        );
        assert.strictEqual(head.Metadata?.sha256, sha(files.get("cvat_cvat_db.tar.zst")!));
        assert.strictEqual(head.ContentLength, 12 * 1024 * 1024 + 123);

        seen.length = 0;
        const again = await pushBackup({
            target: { client: spy, bucket: BUCKET },
            backupDir: dir,
            prefix: "site-a",
            quiet: true,
        });
        assert.deepStrictEqual([again.uploaded, again.skipped], [0, 2]);
        assert.ok(!seen.some((s) => s.command === "UploadPartCommand" || s.command === "CreateMultipartUploadCommand"));
        spy.destroy();
    });

    it("push then pull through the CLI round-trips byte for byte (sha256 of every file)", async () => {
        const src = path.join(tmp, "src");
        const { dir, files } = await makeBackup(src, "cvat", "2.2.0-to-2.3.0-restore-point", {
            createdAt: "2026-11-20T12:00:00.000Z",
            label: "restore-point",
            archives: [
                { name: "cvat_cvat_db", bytes: 7 * 1024 * 1024 + 5 },
                { name: "cvat_cvat_data", bytes: 300 * 1024 },
                { name: "empty", bytes: 0 },
            ],
        });
        const pushed = await upshift([
            "push",
            "--backup",
            dir,
            "--bucket",
            BUCKET,
            "--prefix",
            "site-a",
            "--s3-endpoint",
            endpoint,
            "--part-size-mb",
            "5",
        ]);
        assert.strictEqual(pushed.code, 0, pushed.stderr);
        const p = jsonLine(pushed);
        assert.strictEqual(p.ok, true);
        assert.strictEqual(p.key, "site-a/cvat/2.2.0-to-2.3.0-restore-point");
        assert.strictEqual(p.uploaded, 3);

        // pull takes the endpoint from UPSHIFT_S3_ENDPOINT this time
        const dest = path.join(tmp, "restored");
        const pulled = await upshift(["pull", "--bucket", BUCKET, "--key-prefix", p.key, "--to", dest], {
            UPSHIFT_S3_ENDPOINT: endpoint,
        });
        assert.strictEqual(pulled.code, 0, pulled.stderr);
        const q = jsonLine(pulled);
        assert.strictEqual(q.backup, path.join(dest, "cvat", "2.2.0-to-2.3.0-restore-point"));
        assert.strictEqual(q.alreadyPresent, false);
        for (const [file, data] of files) {
            const got = await fsp.readFile(path.join(q.backup, file));
            assert.strictEqual(sha(got), sha(data), file);
            assert.ok(got.equals(data), `${file} byte for byte`);
        }
        assert.strictEqual(
            await fsp.readFile(path.join(q.backup, "manifest.json"), "utf8"),
            await fsp.readFile(path.join(dir, "manifest.json"), "utf8"),
        );
        assert.deepStrictEqual(
            (await fsp.readdir(path.join(dest, "cvat"))).sort(),
            ["2.2.0-to-2.3.0-restore-point"],
            "no .partial left",
        );

        const again = await upshift([
            "pull",
            "--bucket",
            BUCKET,
            "--key-prefix",
            p.key,
            "--to",
            dest,
            "--s3-endpoint",
            endpoint,
        ]);
        assert.strictEqual(again.code, 0, again.stderr);
        assert.strictEqual(jsonLine(again).alreadyPresent, true);
    });

    it("a real backup made by `upshift backup` (tar + zstd in a helper container) goes to S3 and back byte for byte", async () => {
        // Needs the Docker engine and helper image that the integration root hook provides.
        const data = path.join(tmp, "app-data");
        await fsp.mkdir(path.join(data, "sub"), { recursive: true });
        await fsp.writeFile(path.join(data, "a.txt"), "hello upshift\n".repeat(1000));
        await fsp.writeFile(path.join(data, "sub", "b.bin"), randomBytes(2 * 1024 * 1024));
        const backups = path.join(tmp, "real-backups");
        const made = await upshift([
            "backup",
            "--product",
            "clearml",
            "--version",
            "1.17.0",
            "--id",
            "real-1",
            "--to",
            backups,
            "--dir",
            data,
            "--label",
            "restore-point",
        ]);
        assert.strictEqual(made.code, 0, made.stderr);
        const dir = path.join(backups, "clearml", "real-1");
        const pushed = await upshift([
            "push",
            "--backup",
            dir,
            "--bucket",
            BUCKET,
            "--prefix",
            "real",
            "--s3-endpoint",
            endpoint,
        ]);
        assert.strictEqual(pushed.code, 0, pushed.stderr);
        const dest = path.join(tmp, "real-pulled");
        const pulled = await upshift([
            "pull",
            "--bucket",
            BUCKET,
            "--key-prefix",
            "real/clearml/real-1",
            "--to",
            dest,
            "--s3-endpoint",
            endpoint,
        ]);
        assert.strictEqual(pulled.code, 0, pulled.stderr);
        const names = (await fsp.readdir(dir)).sort();
        assert.deepStrictEqual((await fsp.readdir(path.join(dest, "clearml", "real-1"))).sort(), names);
        for (const n of names) {
            const [a, b] = await Promise.all([
                fsp.readFile(path.join(dir, n)),
                fsp.readFile(path.join(dest, "clearml", "real-1", n)),
            ]);
            assert.ok(a.equals(b), `${n} byte for byte`);
        }
        const listed = jsonLine(await upshift(["list", "--backup-dir", dest, "--json", "--verify"]));
        assert.deepStrictEqual(
            listed.backups.map((b: { id: string; status: string; label: string }) => [b.id, b.status, b.label]),
            [["real-1", "checksum-ok", "restore-point"]],
        );
    });

    it("a corrupted object in the server's storage is detected: pull fails and writes nothing; list --verify says corrupt", async () => {
        const src = path.join(tmp, "src-corrupt");
        const { dir } = await makeBackup(src, "clearml", "bk-1", {
            createdAt: "2026-11-21T12:00:00.000Z",
            archives: [{ name: "elastic_7", bytes: 256 * 1024 }],
        });
        const pushed = await upshift([
            "push",
            "--backup",
            dir,
            "--bucket",
            BUCKET,
            "--prefix",
            "site-b",
            "--s3-endpoint",
            endpoint,
        ]);
        assert.strictEqual(pushed.code, 0, pushed.stderr);

        // Flip bytes in the middle of the stored object (same size: the server serves it as is).
        const f = objectFile("site-b/clearml/bk-1/elastic_7.tar.zst");
        const buf = await fsp.readFile(f);
        for (let i = 1000; i < 1010; i++) buf[i] ^= 0xff;
        await fsp.writeFile(f, buf);

        const dest = path.join(tmp, "restored-corrupt");
        const pulled = await upshift([
            "pull",
            "--bucket",
            BUCKET,
            "--key-prefix",
            "site-b/clearml/bk-1",
            "--to",
            dest,
            "--s3-endpoint",
            endpoint,
        ]);
        assert.strictEqual(pulled.code, 1);
        assert.strictEqual(pulled.stdout, "");
        assert.match(
            pulled.stderr,
            /corrupt object s3:\/\/upshift-backups\/site-b\/clearml\/bk-1\/elastic_7\.tar\.zst: sha256 [0-9a-f]{64}/,
        );
        assert.ok(!(await exists(path.join(dest, "clearml", "bk-1"))), "target not written");
        assert.ok(!(await exists(path.join(dest, "clearml", "bk-1.partial"))), "no partial left");

        // Without --verify the listing sees sizes and metadata, which still match; --verify hashes.
        const quick = jsonLine(
            await upshift(["list", "--bucket", BUCKET, "--prefix", "site-b", "--s3-endpoint", endpoint, "--json"]),
        );
        assert.strictEqual(quick.backups.find((b: { id: string }) => b.id === "bk-1").status, "complete");
        const deep = jsonLine(
            await upshift([
                "list",
                "--bucket",
                BUCKET,
                "--prefix",
                "site-b",
                "--s3-endpoint",
                endpoint,
                "--json",
                "--verify",
                "--quiet",
            ]),
        );
        const e = deep.backups.find((b: { id: string }) => b.id === "bk-1");
        assert.strictEqual(e.status, "corrupt");
        assert.match(e.problems.join(";"), /elastic_7\.tar\.zst: sha256/);
    });

    it("an object replaced through the API (manifest kept) is detected by list and by pull", async () => {
        const src = path.join(tmp, "src-replaced");
        const { dir, files } = await makeBackup(src, "kwdb", "bk-1", {
            createdAt: "2026-11-21T12:00:00.000Z",
            archives: [{ name: "kwdb_data", bytes: 4096 }],
        });
        await pushQuiet(dir, "site-c");
        const other = randomBytes(files.get("kwdb_data.tar.zst")!.length); // same size, other bytes
        await client.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: "site-c/kwdb/bk-1/kwdb_data.tar.zst", Body: other }),
        );

        const listed = jsonLine(
            await upshift(["list", "--bucket", BUCKET, "--prefix", "site-c", "--s3-endpoint", endpoint, "--json"]),
        );
        const e = listed.backups.find((b: { id: string }) => b.id === "bk-1");
        assert.strictEqual(e.status, "corrupt");
        assert.match(e.problems.join(";"), /object metadata sha256 \(none\)/);
        const pulled = await upshift([
            "pull",
            "--bucket",
            BUCKET,
            "--key-prefix",
            "site-c/kwdb/bk-1",
            "--to",
            path.join(tmp, "restored-replaced"),
            "--s3-endpoint",
            endpoint,
        ]);
        assert.strictEqual(pulled.code, 1);
        assert.match(pulled.stderr, /corrupt object/);
        assert.ok(!(await exists(path.join(tmp, "restored-replaced", "kwdb", "bk-1"))));
    });

    it("list reports complete / checksum-ok / corrupt / partial, locally and in S3, as JSON and as a table", async () => {
        const root = path.join(tmp, "listing");
        const good = await makeBackup(root, "cvat", "good", {
            createdAt: "2026-11-10T12:00:00.000Z",
            label: "restore-point",
        });
        const corrupt = await makeBackup(root, "cvat", "corrupt", { createdAt: "2026-11-11T12:00:00.000Z" });
        await fsp.appendFile(path.join(corrupt.dir, "cvat_data.tar.zst"), "x"); // size differs from the manifest
        const flipped = await makeBackup(root, "cvat", "flipped", { createdAt: "2026-11-12T12:00:00.000Z" });
        const fb = flipped.files.get("cvat_data.tar.zst")!;
        fb[0] ^= 1;
        await fsp.writeFile(path.join(flipped.dir, "cvat_data.tar.zst"), fb); // same size, other bytes
        await makeBackup(root, "cvat", "missing-archive", { createdAt: "2026-11-13T12:00:00.000Z" });
        await fsp.rm(path.join(root, "cvat", "missing-archive", "cvat_data.tar.zst"));
        await fsp.mkdir(path.join(root, "cvat", "inflight.partial"), { recursive: true });

        // S3: a complete one and a partial one (archives there, manifest not)
        await pushQuiet(good.dir, "site-d");
        const half = await makeBackup(path.join(tmp, "half"), "cvat", "half", {
            createdAt: "2026-11-14T12:00:00.000Z",
        });
        await pushQuiet(half.dir, "site-d");
        await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "site-d/cvat/half/manifest.json" }));

        const args = [
            "list",
            "--backup-dir",
            root,
            "--bucket",
            BUCKET,
            "--prefix",
            "site-d",
            "--s3-endpoint",
            endpoint,
            "--json",
        ];
        const status = (r: { backups: { location: string; id: string; status: string }[] }) =>
            Object.fromEntries(r.backups.map((b) => [`${b.location}:${b.id}`, b.status]));
        const quick = jsonLine(await upshift(args));
        assert.deepStrictEqual(status(quick), {
            "local:good": "complete",
            "local:corrupt": "corrupt",
            "local:flipped": "complete",
            "local:missing-archive": "partial",
            "local:inflight": "partial",
            "s3:good": "complete",
            "s3:half": "partial",
        });
        const g = quick.backups.find(
            (b: { location: string; id: string }) => b.location === "local" && b.id === "good",
        );
        assert.deepStrictEqual(
            { product: g.product, version: g.version, label: g.label, createdAt: g.createdAt, bytes: g.bytes },
            {
                product: "cvat",
                version: "2.2.0",
                label: "restore-point",
                createdAt: "2026-11-10T12:00:00.000Z",
                bytes: 64 * 1024,
            },
        );
        const deep = jsonLine(await upshift([...args, "--verify", "--quiet"]));
        assert.deepStrictEqual(status(deep), {
            "local:good": "checksum-ok",
            "local:corrupt": "corrupt",
            "local:flipped": "corrupt",
            "local:missing-archive": "partial",
            "local:inflight": "partial",
            "s3:good": "checksum-ok",
            "s3:half": "partial",
        });

        const table = await upshift(args.filter((a) => a !== "--json"));
        assert.strictEqual(table.code, 0, table.stderr);
        assert.match(table.stdout, /^WHERE\s+PRODUCT\s+ID\s+VERSION\s+LABEL\s+CREATED\s+SIZE\s+STATUS\n/);
        assert.match(
            table.stdout,
            /local\s+cvat\s+good\s+2\.2\.0\s+restore-point\s+2026-11-10T12:00:00\.000Z\s+64\.0 KiB\s+complete/,
        );
        assert.match(table.stdout, /s3:\/\/upshift-backups\s+cvat\s+half\s+.*partial/);
    });

    it("prune --keep 2 after 4 backups (local and S3) leaves exactly the right ones; --dry-run deletes nothing", async () => {
        const root = path.join(tmp, "prune");
        const made = [];
        for (const [i, label] of [
            [1, "restore-point"],
            [2, undefined],
            [3, undefined],
            [4, undefined],
        ] as const) {
            made.push(await makeBackup(root, "cvat", `b${i}`, { createdAt: `2026-11-0${i}T12:00:00.000Z`, label }));
        }
        made.push(await makeBackup(root, "kwdb", "k1", { createdAt: "2026-11-01T12:00:00.000Z" }));
        for (const m of made) await pushQuiet(m.dir, "site-e");
        const common = [
            "prune",
            "--keep",
            "2",
            "--backup-dir",
            root,
            "--bucket",
            BUCKET,
            "--prefix",
            "site-e",
            "--s3-endpoint",
            endpoint,
            "--json",
        ];

        const dry = await upshift([...common, "--dry-run"]);
        assert.strictEqual(dry.code, 0, dry.stderr);
        const d = jsonLine(dry);
        assert.deepStrictEqual(
            d.local.wouldDelete.map((x: { id: string }) => x.id),
            ["b2"],
        );
        assert.deepStrictEqual(
            d.s3.wouldDelete.map((x: { id: string }) => x.id),
            ["b2"],
        );
        assert.match(dry.stderr, /local would delete cvat\/b2/);
        assert.deepStrictEqual((await fsp.readdir(path.join(root, "cvat"))).sort(), ["b1", "b2", "b3", "b4"]);

        const real = await upshift(common);
        assert.strictEqual(real.code, 0, real.stderr);
        const r = jsonLine(real);
        // b4, b3: the last 2; b1: the latest restore point; kwdb/k1: the only kwdb backup
        assert.deepStrictEqual(
            r.local.deleted.map((x: { id: string }) => x.id),
            ["b2"],
        );
        assert.deepStrictEqual(r.local.kept.map((x: { id: string }) => x.id).sort(), ["b1", "b3", "b4", "k1"]);
        assert.deepStrictEqual((await fsp.readdir(path.join(root, "cvat"))).sort(), ["b1", "b3", "b4"]);
        assert.deepStrictEqual((await fsp.readdir(path.join(root, "kwdb"))).sort(), ["k1"]);
        const inS3 = jsonLine(
            await upshift(["list", "--bucket", BUCKET, "--prefix", "site-e", "--s3-endpoint", endpoint, "--json"]),
        );
        assert.deepStrictEqual(inS3.backups.map((b: { id: string }) => b.id).sort(), ["b1", "b3", "b4", "k1"]);
        assert.ok(inS3.backups.every((b: { status: string }) => b.status === "complete"));

        // A fifth backup that is corrupt: the newest does not verify, so nothing is pruned (exit 1).
        const b5 = await makeBackup(root, "cvat", "b5", { createdAt: "2026-11-05T12:00:00.000Z" });
        const bytes = b5.files.get("cvat_data.tar.zst")!;
        bytes[10] ^= 1;
        await fsp.writeFile(path.join(b5.dir, "cvat_data.tar.zst"), bytes);
        const blocked = await upshift(["prune", "--keep", "1", "--backup-dir", root, "--json"]);
        assert.strictEqual(blocked.code, 1);
        assert.match(blocked.stderr, /newest backup cvat\/b5 is corrupt: nothing pruned/);
        assert.deepStrictEqual((await fsp.readdir(path.join(root, "cvat"))).sort(), ["b1", "b3", "b4", "b5"]);
    });

    it("never prints a secret", () => {
        assert.ok(outputs.length > 0);
        for (const o of outputs)
            assert.ok(!o.includes(SECRET), "the secret access key never appears in stdout or stderr");
    });
});
