// Adopting the vendors' own installs under the REAL Pulumi engine (file backend) on the REAL Docker
// engine. STAND-INS: the docker and command provider plugins and every vendor image
// (tests/e2e/standins/README.md); Mongo, Elasticsearch and ClearML cannot run here. The stand-in
// docker provider also caps `memlock` and `nofile` at what this sandbox's Docker allows (it has no
// CAP_SYS_RESOURCE and refuses the vendor's `memlock: -1` and Elasticsearch's nofile 65536), and
// reads the asked values back.
// What is shown for real: the directories of a tree laid out as the vendor's compose file leaves it
// are the containers' bind mounts, every file in it keeps its sha256 (on the host and as the
// containers see it) through `pulumi up`, the next preview and `pulumi destroy`; the next preview
// shows no change; a clearml:dataDir with no install in it is refused before anything is created.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { clearmlCatalog } from "../../catalog/clearml";
import { kwdbCatalog } from "../../catalog/kwdb";
import { ProductCatalog } from "../../catalog/types";
import { TEST_IMAGES } from "../integration/setup";
import { digest, psql as psqlRoot, waitReady } from "../integration/cvat-steps";
import { initCvatStack, names, tryClean, VOLUMES_220 } from "./cvat-fixture";
import { assertAllServing, buildStandins, dk, dkQuiet, E2EStack, ROOT, running, standin } from "./harness";

/** The vendor's compose facts per release (written by `npm run compose-facts`, from reference/upstream). */
const FACTS = JSON.parse(
    fs.readFileSync(path.join(ROOT, "tests", "unit", "fixtures", "upstream", "clearml.json"), "utf8"),
) as {
    facts: Record<string, { mounts: string[] }>;
    releases: Record<string, { services: Record<string, string> }>;
};

function imagesFor(catalog: ProductCatalog, version: string): Record<string, string> {
    const map: Record<string, string> = {};
    for (const s of catalog.services(version)) map[s.image] ??= standin(`${catalog.product}-${version}`);
    return map;
}

function removeContainers(names: string[], network: string): void {
    for (const c of names) dkQuiet(["rm", "-f", c]);
    dkQuiet(["network", "rm", network]);
}

/** sha256, mode and size of every file under `dir`, by relative path (the test's own means). */
function treeSums(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) {
                out[`${path.relative(dir, p)}/`] = "dir";
                walk(p);
                continue;
            }
            const st = fs.statSync(p);
            out[path.relative(dir, p)] =
                `${crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex")} ${(st.mode & 0o7777).toString(8)} ${st.size}`;
        }
    };
    walk(dir);
    return out;
}

/** Files in every directory the release mounts, as an install that has run leaves them (random content, a nested dir each). */
function layTree(root: string, dirs: string[]): void {
    for (const d of dirs) {
        const at = path.join(root, d);
        fs.mkdirSync(path.join(at, "sub"), { recursive: true });
        for (const f of ["a.bin", "sub/b.bin"])
            fs.writeFileSync(path.join(at, f), crypto.randomBytes(4096 + crypto.randomInt(4096)));
        fs.writeFileSync(path.join(at, "marker.txt"), `${d}\n`);
    }
}

/**
 * The caps of the ulimits this engine cannot give a container (memlock unlimited, nofile 65536 for
 * Elasticsearch): `memlock=<bytes>,nofile=<n>`, or undefined where it can.
 */
function ulimitCaps(): string | undefined {
    const [memlockKb, nofile] = dk(["run", "--rm", TEST_IMAGES.tools, "sh", "-c", "ulimit -Hl; ulimit -Hn"])
        .trim()
        .split("\n");
    const caps = [
        ...(memlockKb === "unlimited" ? [] : [`memlock=${Number(memlockKb) * 1024}`]),
        ...(nofile === "unlimited" || Number(nofile) >= 65536 ? [] : [`nofile=${nofile}`]),
    ];
    return caps.length ? caps.join(",") : undefined;
}

/** Each container's bind mounts as `source:destination`, sorted. */
/** A ClearML stack of `version` on `dataDir`, with the stand-in images (and the ulimit caps this engine needs, into `env`). */
async function initClearmlStack(
    stack: E2EStack,
    catalog: ProductCatalog,
    version: string,
    names: string[],
    dataDir: string,
    env: NodeJS.ProcessEnv,
): Promise<void> {
    removeContainers(names, "upshift_clearml");
    buildStandins([`clearml-${version}`]);
    const cap = ulimitCaps();
    if (cap) env.UPSHIFT_STANDIN_ULIMIT_CAPS = cap;
    await stack.init();
    stack.writeConfig([
        `upshift:backupDir: ${stack.backupDir}`,
        `upshift:helperImage: ${TEST_IMAGES.tools}`,
        `clearml:version: ${version}`,
        `clearml:dataDir: ${dataDir}`,
        "clearml:images:",
        ...Object.entries(imagesFor(catalog, version)).map(([k, v]) => `  ${JSON.stringify(k)}: ${v}`),
    ]);
}

function bindMounts(container: string): string[] {
    const mounts = JSON.parse(dk(["inspect", "-f", "{{json .Mounts}}", container])) as {
        Type: string;
        Source: string;
        Destination: string;
    }[];
    return mounts
        .filter((m) => m.Type === "bind")
        .map((m) => `${m.Source}:${m.Destination}`)
        .sort();
}

describe("e2e: adopting ClearML Server 1.16.0's /opt/clearml tree with the real Pulumi engine and Docker; stand-in providers and images, memlock and nofile capped by the stand-in provider", function () {
    this.timeout(20 * 60 * 1000);
    const version = "1.16.0";
    const stack = new E2EStack("e2e-adopt-clearml");
    const root = path.join(stack.dir, "opt-clearml");
    const missing = path.join(stack.dir, "no-install-here");
    const catalog = clearmlCatalog(root);
    const names = catalog
        .services(version)
        .filter((s) => !s.optional)
        .map((s) => s.name);
    // The vendor's file: every host path it mounts under /opt/clearml, per container (agent-services is optional, not run).
    const vendor = FACTS.releases[version].services;
    const vendorMounts = (c: string) =>
        FACTS.facts[vendor[c]].mounts
            .filter((m) => m.startsWith("/opt/clearml/"))
            .map((m) => m.replace(/^\/opt\/clearml/, root))
            .sort();
    const vendorDirs = [
        ...new Set(
            names
                .flatMap((c) => FACTS.facts[vendor[c]].mounts)
                .filter((m) => m.startsWith("/opt/clearml/"))
                .map((m) => m.split(":")[0].slice("/opt/clearml/".length)),
        ),
    ].sort();
    const env: NodeJS.ProcessEnv = {};
    let sums: Record<string, string>;

    before(() => initClearmlStack(stack, catalog, version, names, missing, env));
    after(async () => {
        await stack.teardown();
        removeContainers(names, "upshift_clearml");
        stack.cleanup();
    });

    it("a clearml:dataDir with no install in it is refused before anything is created: the message names the directories, clearml:dataDir and clearml:adopt false", async () => {
        const up = await stack.up({ allowFail: true, env });
        assert.notStrictEqual(up.code, 0, "the up fails");
        const out = up.stdout + up.stderr;
        assert.match(
            out,
            new RegExp(
                `upshift adopt-check: ${missing}/data/mongo_4/db is missing, ${missing}/data/elastic_7 is missing; nothing was created or started`,
            ),
        );
        assert.match(
            out,
            /Fix: pulumi config set clearml:dataDir <where the install keeps it>; for a fresh install instead: pulumi config set clearml:adopt false/,
        );
        for (const c of names) assert.strictEqual(running(c), undefined, `${c} was not created`);
        assert.ok(!fs.existsSync(missing), "the check creates no directory");
        assert.throws(
            () => dk(["network", "inspect", "upshift_clearml"]),
            /No such network|not found/i,
            "no network either",
        );
    });

    it("adopts the tree laid out as the vendor's 1.16.0 file leaves it: the vendor's bind mounts, every file's sha256 unchanged, and the next preview shows no changes", async () => {
        assert.deepStrictEqual(vendorDirs, [
            "config",
            "data/elastic_7",
            "data/fileserver",
            "data/mongo_4/configdb",
            "data/mongo_4/db",
            "data/redis",
            "logs",
        ]);
        layTree(root, vendorDirs);
        sums = treeSums(root);
        await stack.config("clearml:dataDir", root);
        await stack.up({ env });
        assertAllServing(names);
        for (const c of names) assert.deepStrictEqual(bindMounts(c), vendorMounts(c), `${c}: the vendor's bind mounts`);
        assert.deepStrictEqual(treeSums(root), sums, "no file emptied, replaced or added");
        // The containers see the same bytes through their mounts.
        const inMongo = dk(["exec", "clearml-mongo", "sha256sum", "/data/db/a.bin", "/data/db/sub/b.bin"])
            .trim()
            .split("\n")
            .map((l) => l.split(/\s+/)[0]);
        assert.deepStrictEqual(
            inMongo,
            [sums["data/mongo_4/db/a.bin"], sums["data/mongo_4/db/sub/b.bin"]].map((s) => s.split(" ")[0]),
        );
        const inElastic = dk(["exec", "clearml-elastic", "cat", "/usr/share/elasticsearch/data/marker.txt"]).trim();
        assert.strictEqual(inElastic, "data/elastic_7");
        const record = (await stack.outputs()).deployed as {
            clearml: { version: string; adoptCheck?: { create: string } };
        };
        assert.strictEqual(record.clearml.version, version);
        assert.match(
            record.clearml.adoptCheck!.create,
            new RegExp(`adopt-check --dir ${root}/data/mongo_4/db --dir ${root}/data/elastic_7 `),
        );
        await stack.preview(["--expect-no-changes"], { env });
        assert.deepStrictEqual(treeSums(root), sums);
    });

    it("`pulumi destroy` removes the containers and leaves every file of the tree as it was", async () => {
        await stack.pulumi(["state", "unprotect", "--all", "--yes", "--stack", stack.stack]);
        await stack.pulumi(stack.stackArgs("destroy", "--yes", "--suppress-progress"), { env });
        for (const c of names) assert.strictEqual(running(c), undefined, `${c} removed`);
        assert.deepStrictEqual(treeSums(root), sums);
    });
});

describe("e2e: adopting Trains Server 0.16.1's tree (data/mongo/db: Mongo 3.6) with the real Pulumi engine and Docker; stand-in providers and images, memlock and nofile capped by the stand-in provider", function () {
    this.timeout(20 * 60 * 1000);
    // No vendor compose file of 0.16.x is in reference/upstream: the layout is the catalog's (the
    // vendor's 0.16 instructions, /opt/trains; its default root is shown under mocks, tests/unit/adoption.test.ts).
    const version = "0.16.1";
    const stack = new E2EStack("e2e-adopt-trains");
    const root = path.join(stack.dir, "opt-trains");
    const catalog = clearmlCatalog(root);
    const names = catalog
        .services(version)
        .filter((s) => !s.optional)
        .map((s) => s.name);
    const env: NodeJS.ProcessEnv = {};

    before(() => initClearmlStack(stack, catalog, version, names, root, env));
    after(async () => {
        await stack.pulumi(["state", "unprotect", "--all", "--yes", "--stack", stack.stack], { allowFail: true });
        await stack.pulumi(stack.stackArgs("destroy", "--yes", "--suppress-progress"), { allowFail: true, env });
        removeContainers(names, "upshift_clearml");
        stack.cleanup();
    });

    it("the trains-* containers bind-mount the tree's directories (Mongo on data/mongo/db), every file's sha256 unchanged, and the next preview shows no changes", async () => {
        const dirs = catalog
            .dataVolumes(version)
            .map((d) => path.relative(root, d.defaultName))
            .sort();
        assert.deepStrictEqual(dirs, [
            "config",
            "data/elastic_7",
            "data/fileserver",
            "data/mongo/configdb",
            "data/mongo/db",
            "data/redis",
            "logs",
        ]);
        layTree(root, dirs);
        const sums = treeSums(root);
        await stack.up({ env });
        assertAllServing(names);
        assert.deepStrictEqual(bindMounts("trains-mongo"), [
            `${root}/data/mongo/configdb:/data/configdb`,
            `${root}/data/mongo/db:/data/db`,
        ]);
        assert.deepStrictEqual(bindMounts("trains-elastic"), [`${root}/data/elastic_7:/usr/share/elasticsearch/data`]);
        assert.deepStrictEqual(bindMounts("trains-apiserver"), [
            `${root}/config:/opt/trains/config`,
            `${root}/data/fileserver:/mnt/fileserver`,
            `${root}/logs:/var/log/trains`,
        ]);
        assert.deepStrictEqual(treeSums(root), sums, "no file emptied, replaced or added");
        assert.strictEqual(dk(["exec", "trains-mongo", "cat", "/data/db/marker.txt"]).trim(), "data/mongo/db");
        await stack.preview(["--expect-no-changes"], { env });
        assert.deepStrictEqual(treeSums(root), sums);
    });
});

describe("e2e: adopting CVAT 2.2.0's compose volumes (project `cvat`: cvat_cvat_db...) holding rows and files, with the real Pulumi engine, Docker and Postgres 15 playing 10; stand-in providers and app images", function () {
    this.timeout(20 * 60 * 1000);
    const stack = new E2EStack("e2e-adopt-cvat");
    const seedBox = `upshift-e2e-adopt-seed-${process.pid}`;

    before(async () => {
        buildStandins(["cvat-2.2.0", "cvat-2.3.0", "static"]);
        await initCvatStack(stack);
    });
    after(async () => {
        dkQuiet(["rm", "-f", seedBox]);
        await stack.teardown();
        tryClean();
        stack.cleanup();
    });

    it("cvat_db runs on the adopted cvat_cvat_db: every table's rows and content hash, and every file of cvat_cvat_data and cvat_cvat_keys, are as before; the next preview shows no changes", async () => {
        // As `docker compose up` of the vendor's 2.2.0 file (cloned as `cvat`) leaves them: labelled volumes, Postgres initialised by its image.
        for (const v of VOLUMES_220) {
            dk([
                "volume",
                "create",
                "--label",
                "com.docker.compose.project=cvat",
                "--label",
                `com.docker.compose.volume=${v.replace(/^cvat_/, "")}`,
                v,
            ]);
        }
        dk([
            "run",
            "-d",
            "--name",
            seedBox,
            "-v",
            "cvat_cvat_db:/var/lib/postgresql/data",
            "-e",
            "POSTGRES_USER=root",
            "-e",
            "POSTGRES_DB=cvat",
            TEST_IMAGES.pg15,
        ]);
        await waitReady(seedBox);
        psqlRoot(
            seedBox,
            "cvat",
            `CREATE TABLE engine_task (id serial PRIMARY KEY, name text, data bytea);
            INSERT INTO engine_task (name, data) SELECT 'task ' || g, decode(md5(g::text), 'hex') FROM generate_series(1, 5000) g;
            CREATE TABLE auth_user (id serial PRIMARY KEY, username text UNIQUE NOT NULL);
            INSERT INTO auth_user (username) SELECT 'user' || g FROM generate_series(1, 300) g;`,
        );
        const rows = digest(seedBox, "cvat");
        dk(["stop", seedBox]);
        dk(["rm", seedBox]);
        dk([
            "run",
            "--rm",
            "-v",
            "cvat_cvat_data:/d",
            "-v",
            "cvat_cvat_keys:/k",
            TEST_IMAGES.tools,
            "sh",
            "-c",
            "mkdir -p /d/data/1/raw && for i in 1 2 3; do head -c 200000 /dev/urandom > /d/data/1/raw/$i.jpg; done && head -c 50 /dev/urandom | base64 > /k/secret_key.py",
        ]);
        const files = () =>
            dk([
                "run",
                "--rm",
                "-v",
                "cvat_cvat_data:/d:ro",
                "-v",
                "cvat_cvat_keys:/k:ro",
                TEST_IMAGES.tools,
                "sh",
                "-c",
                "cd / && find d k -type f | sort | xargs sha256sum",
            ]);
        const filesBefore = files();
        assert.strictEqual(
            Object.values(rows).reduce((n, d) => n + Number(d.split(":")[0]), 0),
            5300,
        );

        await stack.up();
        assertAllServing(names("2.2.0"));
        const mounted = JSON.parse(dk(["inspect", "-f", "{{json .Mounts}}", "cvat_db"])) as {
            Type: string;
            Name?: string;
            Destination: string;
        }[];
        assert.deepStrictEqual(
            mounted.map((m) => `${m.Type}:${m.Name}:${m.Destination}`),
            ["volume:cvat_cvat_db:/var/lib/postgresql/data"],
        );
        await waitReady("cvat_db");
        assert.deepStrictEqual(digest("cvat_db", "cvat"), rows, "every table's rows and content");
        assert.strictEqual(files(), filesBefore, "every file");
        await stack.preview(["--expect-no-changes"]);
        assert.match(
            dk(["volume", "inspect", "-f", "{{json .Labels}}", "cvat_cvat_db"]),
            /com\.docker\.compose\.project/,
        );
    });
});

describe("e2e: adopting KWDB's installer layout with an empty store, real Pulumi engine and Docker; stand-in providers and image (KWDB's privileged container cannot start here)", function () {
    this.timeout(10 * 60 * 1000);
    const stack = new E2EStack("e2e-adopt-kwdb");
    const store = path.join(stack.dir, "var-lib-kaiwudb");
    const certs = path.join(stack.dir, "etc-kaiwudb-certs");
    const catalog = kwdbCatalog;

    before(async () => {
        buildStandins(["kwdb-3.1.0"]);
        fs.mkdirSync(store);
        fs.mkdirSync(certs);
        await stack.init();
        stack.writeConfig([
            `upshift:backupDir: ${stack.backupDir}`,
            `upshift:helperImage: ${TEST_IMAGES.tools}`,
            "kwdb:version: 3.1.0",
            "kwdb:volumes:",
            `  kwdb_store: ${store}`,
            `  kwdb_certs: ${certs}`,
            "kwdb:images:",
            ...Object.entries(imagesFor(catalog, "3.1.0")).map(([k, v]) => `  ${JSON.stringify(k)}: ${v}`),
        ]);
    });
    after(async () => {
        await stack.teardown();
        stack.cleanup();
    });

    it("an empty kwdb:volumes.kwdb_store is refused before the certificates, the image or the container: the message names the key and the fix", async () => {
        const up = await stack.up({ allowFail: true });
        assert.notStrictEqual(up.code, 0);
        const out = up.stdout + up.stderr;
        assert.match(out, new RegExp(`upshift adopt-check: ${store} is empty; nothing was created or started`));
        assert.match(
            out,
            /Fix: pulumi config set kwdb:volumes\.kwdb_store <where the install keeps it>; for a fresh install instead: pulumi config set kwdb:adopt false/,
        );
        assert.strictEqual(running("kaiwudb-container"), undefined);
        assert.deepStrictEqual(fs.readdirSync(certs), [], "no certificate was made");
        const state = await stack.exported();
        assert.deepStrictEqual(
            (state.deployment.resources ?? [])
                .filter((r) => r.type.startsWith("docker:") || r.type.startsWith("command:"))
                .map((r) => r.type),
            [],
            "nothing is in the state",
        );
    });
});

describe("e2e: adopt-check on the real Docker engine (the hooks CLI alone)", function () {
    this.timeout(5 * 60 * 1000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-adopt-check-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const run = (args: string[]) => {
        try {
            return {
                code: 0,
                out: execFileSync(
                    "node",
                    [path.join(ROOT, "bin", "upshift"), "adopt-check", ...args, "--helper-image", TEST_IMAGES.tools],
                    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
                ),
            };
        } catch (e) {
            const err = e as { status: number; stdout: string; stderr: string };
            return { code: err.status, out: err.stdout + err.stderr };
        }
    };

    it("all-or-none: none found is a fresh install; part of an install (Mongo data, Elasticsearch dir empty) is refused (exit 3); an empty volume is refused", () => {
        const a = path.join(dir, "mongo_4", "db"),
            b = path.join(dir, "elastic_7");
        assert.deepStrictEqual([run(["--dir", a, "--dir", b, "--all-or-none"]).code], [0]);
        fs.mkdirSync(a, { recursive: true });
        fs.mkdirSync(b, { recursive: true });
        fs.writeFileSync(path.join(a, "WiredTiger"), "x");
        const partial = run(["--dir", a, "--dir", b, "--all-or-none", "--how", "FIX"]);
        assert.strictEqual(partial.code, 3, partial.out);
        assert.match(
            partial.out,
            new RegExp(
                `${b} is empty while ${a} holds data \\(part of an install\\); nothing was created or started\\. FIX`,
            ),
        );
        fs.writeFileSync(path.join(b, "nodes"), "y");
        assert.strictEqual(run(["--dir", a, "--dir", b]).code, 0);
        const vol = `upshift-adopt-check-${process.pid}`;
        dk(["volume", "create", vol]);
        try {
            const empty = run(["--volume", vol, "--how", "FIX"]);
            assert.strictEqual(empty.code, 3, empty.out);
            assert.match(empty.out, new RegExp(`${vol} is empty; nothing was created or started\\. FIX`));
            assert.match(run(["--volume", `${vol}-nope`]).out, new RegExp(`${vol}-nope is missing`));
        } finally {
            dk(["volume", "rm", vol]);
        }
    });
});
